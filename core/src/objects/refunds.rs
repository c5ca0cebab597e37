//! The `refunds` object: `GET /v1/refunds`.

use crate::spec::{Access, FilterKind::*, IdsStrategy, ObjectSpec};
use crate::{col, filter};

pub static REFUNDS: ObjectSpec = ObjectSpec {
    name: "refunds",
    table: "refunds",
    endpoint: "refunds",
    object_type: "refund",
    columns: &[
        col!("id", Text),
        col!("amount", Int8),
        col!("currency", Text),
        col!("charge", Text),
        col!("payment_intent", Text),
        col!("reason", Text),
        col!("status", Text),
        col!("receipt_number", Text),
        col!("balance_transaction", Text),
        col!("metadata", Jsonb),
        col!("created", Timestamptz),
        col!("attrs", Jsonb, []),
    ],
    filters: &[
        filter!("charge"),
        filter!("payment_intent"),
        filter!("created", Range("created")),
    ],
    ids: IdsStrategy::Retrieve,
    access: Access::List { required: None },
    defaults: &[],
};
