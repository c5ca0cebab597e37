//! The `setup_attempts` object: `GET /v1/setup_attempts`, which needs a `setup_intent` (no retrieve).

use crate::spec::{Access, FilterKind::*, IdsStrategy, ObjectSpec};
use crate::{col, filter};

pub static SETUP_ATTEMPTS: ObjectSpec = ObjectSpec {
    name: "setup_attempts",
    table: "setup_attempts",
    endpoint: "setup_attempts",
    object_type: "setup_attempt",
    columns: &[
        col!("id", Text),
        col!("application", Text),
        col!("customer", Text),
        col!("on_behalf_of", Text),
        col!("payment_method", Text),
        col!("setup_intent", Text),
        col!("status", Text),
        col!("usage", Text),
        col!("setup_error", Jsonb),
        col!("payment_method_details", Jsonb),
        col!("livemode", Bool),
        col!("created", Timestamptz),
        col!("attrs", Jsonb, []),
    ],
    filters: &[
        filter!("setup_intent", TextEqEach("setup_intent")),
        filter!("created", Range("created")),
    ],
    ids: IdsStrategy::Unsupported,
    access: Access::List {
        required: Some("setup_intent"),
    },
    defaults: &[],
};
