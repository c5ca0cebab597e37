//! The `file_links` object: `GET /v1/file_links`.

use crate::spec::{Access, FilterKind::*, IdsStrategy, ObjectSpec};
use crate::{col, filter};

pub static FILE_LINKS: ObjectSpec = ObjectSpec {
    name: "file_links",
    table: "file_links",
    endpoint: "file_links",
    object_type: "file_link",
    columns: &[
        col!("id", Text),
        col!("file", Text),
        col!("url", Text),
        col!("expired", Bool),
        col!("expires_at", Timestamptz),
        col!("metadata", Jsonb),
        col!("livemode", Bool),
        col!("created", Timestamptz),
        col!("attrs", Jsonb, []),
    ],
    filters: &[
        filter!("file"),
        filter!("expired", BoolEq("expired")),
        filter!("created", Range("created")),
    ],
    ids: IdsStrategy::Retrieve,
    access: Access::List { required: None },
    defaults: &[],
};
