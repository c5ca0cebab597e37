//! The `payouts` object: `GET /v1/payouts`.

use crate::spec::{Access, FilterKind::*, IdsStrategy, ObjectSpec};
use crate::{col, filter};

pub static PAYOUTS: ObjectSpec = ObjectSpec {
    name: "payouts",
    table: "payouts",
    endpoint: "payouts",
    object_type: "payout",
    columns: &[
        col!("id", Text),
        col!("amount", Int8),
        col!("currency", Text),
        col!("arrival_date", Timestamptz),
        col!("description", Text),
        col!("statement_descriptor", Text),
        col!("status", Text),
        col!("destination", Text),
        col!("method", Text),
        col!("type", Text),
        col!("automatic", Bool),
        col!("balance_transaction", Text),
        col!("failure_code", Text),
        col!("failure_message", Text),
        col!("metadata", Jsonb),
        col!("livemode", Bool),
        col!("created", Timestamptz),
        col!("attrs", Jsonb, []),
    ],
    filters: &[
        filter!("status"),
        filter!("destination"),
        filter!("arrival_date", Range("arrival_date")),
        filter!("created", Range("created")),
    ],
    ids: IdsStrategy::Retrieve,
    access: Access::List { required: None },
    defaults: &[],
};
