//! The `charges` object: `GET /v1/charges` (`invoice` is null on API versions since 2025-03-31).

use crate::spec::{Access, FilterKind::*, IdsStrategy, ObjectSpec};
use crate::{col, filter};

pub static CHARGES: ObjectSpec = ObjectSpec {
    name: "charges",
    table: "charges",
    endpoint: "charges",
    object_type: "charge",
    columns: &[
        col!("id", Text),
        col!("amount", Int8),
        col!("amount_captured", Int8),
        col!("amount_refunded", Int8),
        col!("currency", Text),
        col!("customer", Text),
        col!("description", Text),
        col!("invoice", Text),
        col!("payment_intent", Text),
        col!("payment_method", Text),
        col!("balance_transaction", Text),
        col!("status", Text),
        col!("paid", Bool),
        col!("captured", Bool),
        col!("refunded", Bool),
        col!("disputed", Bool),
        col!("failure_code", Text),
        col!("failure_message", Text),
        col!("receipt_email", Text),
        col!("receipt_url", Text),
        col!("transfer_group", Text),
        col!("billing_details", Jsonb),
        col!("metadata", Jsonb),
        col!("livemode", Bool),
        col!("created", Timestamptz),
        col!("attrs", Jsonb, []),
    ],
    filters: &[
        filter!("customer"),
        filter!("payment_intent"),
        filter!("transfer_group"),
        filter!("created", Range("created")),
    ],
    ids: IdsStrategy::Retrieve,
    access: Access::List { required: None },
    defaults: &[],
};
