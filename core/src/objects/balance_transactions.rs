//! The `balance_transactions` object: `GET /v1/balance_transactions`.

use crate::spec::{Access, FilterKind::*, IdsStrategy, ObjectSpec};
use crate::{col, filter};

pub static BALANCE_TRANSACTIONS: ObjectSpec = ObjectSpec {
    name: "balance_transactions",
    table: "balance_transactions",
    endpoint: "balance_transactions",
    object_type: "balance_transaction",
    columns: &[
        col!("id", Text),
        col!("amount", Int8),
        col!("currency", Text),
        col!("description", Text),
        col!("fee", Int8),
        col!("net", Int8),
        col!("status", Text),
        col!("type", Text),
        col!("reporting_category", Text),
        col!("source", Text),
        col!("exchange_rate", Numeric),
        col!("fee_details", Jsonb),
        col!("available_on", Timestamptz),
        col!("created", Timestamptz),
        col!("attrs", Jsonb, []),
    ],
    filters: &[
        filter!("type"),
        filter!("currency"),
        filter!("source"),
        filter!("created", Range("created")),
    ],
    ids: IdsStrategy::Retrieve,
    access: Access::List { required: None },
    defaults: &[],
};
