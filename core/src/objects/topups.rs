//! The `topups` object: `GET /v1/topups`.

use crate::spec::{Access, FilterKind::*, IdsStrategy, ObjectSpec};
use crate::{col, filter};

pub static TOPUPS: ObjectSpec = ObjectSpec {
    name: "topups",
    table: "topups",
    endpoint: "topups",
    object_type: "topup",
    columns: &[
        col!("id", Text),
        col!("amount", Int8),
        col!("currency", Text),
        col!("description", Text),
        col!("status", Text),
        col!("statement_descriptor", Text),
        col!("transfer_group", Text),
        col!("failure_code", Text),
        col!("failure_message", Text),
        col!("expected_availability_date", Timestamptz),
        col!("metadata", Jsonb),
        col!("livemode", Bool),
        col!("created", Timestamptz),
        col!("attrs", Jsonb, []),
    ],
    filters: &[
        filter!(
            "status",
            TextEnum("status", &["canceled", "failed", "pending", "succeeded"])
        ),
        filter!("created", Range("created")),
    ],
    ids: IdsStrategy::Retrieve,
    access: Access::List { required: None },
    defaults: &[],
};
