//! The `payment_intents` object: `GET /v1/payment_intents`.

use crate::spec::{Access, FilterKind::*, IdsStrategy, ObjectSpec};
use crate::{col, filter};

pub static PAYMENT_INTENTS: ObjectSpec = ObjectSpec {
    name: "payment_intents",
    table: "payment_intents",
    endpoint: "payment_intents",
    object_type: "payment_intent",
    columns: &[
        col!("id", Text),
        col!("customer", Text),
        col!("amount", Int8),
        col!("amount_received", Int8),
        col!("amount_capturable", Int8),
        col!("currency", Text),
        col!("payment_method", Text),
        col!("status", Text),
        col!("description", Text),
        col!("capture_method", Text),
        col!("confirmation_method", Text),
        col!("latest_charge", Text),
        col!("receipt_email", Text),
        col!("cancellation_reason", Text),
        col!("canceled_at", Timestamptz),
        col!("payment_method_types", TextArray),
        col!("metadata", Jsonb),
        col!("livemode", Bool),
        col!("created", Timestamptz),
        col!("attrs", Jsonb, []),
    ],
    filters: &[filter!("customer"), filter!("created", Range("created"))],
    ids: IdsStrategy::Retrieve,
    access: Access::List { required: None },
    defaults: &[],
};
