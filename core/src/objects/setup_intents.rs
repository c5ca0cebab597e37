//! The `setup_intents` object: `GET /v1/setup_intents`.

use crate::spec::{Access, FilterKind::*, IdsStrategy, ObjectSpec};
use crate::{col, filter};

pub static SETUP_INTENTS: ObjectSpec = ObjectSpec {
    name: "setup_intents",
    table: "setup_intents",
    endpoint: "setup_intents",
    object_type: "setup_intent",
    columns: &[
        col!("id", Text),
        col!("client_secret", Text),
        col!("customer", Text),
        col!("description", Text),
        col!("payment_method", Text),
        col!("status", Text),
        col!("usage", Text),
        col!("cancellation_reason", Text),
        col!("latest_attempt", Text),
        col!("mandate", Text),
        col!("payment_method_types", TextArray),
        col!("metadata", Jsonb),
        col!("livemode", Bool),
        col!("created", Timestamptz),
        col!("attrs", Jsonb, []),
    ],
    filters: &[
        filter!("customer"),
        filter!("payment_method"),
        filter!("created", Range("created")),
    ],
    ids: IdsStrategy::Retrieve,
    access: Access::List { required: None },
    defaults: &[],
};
