//! The `balance` object: `GET /v1/balance`, one row per entry of `available` and `pending`, as Supabase Wrappers shows it.

use crate::col;
use crate::spec::{Access, IdsStrategy, ObjectSpec};

pub static BALANCE: ObjectSpec = ObjectSpec {
    name: "balance",
    table: "balance",
    endpoint: "balance",
    object_type: "balance",
    columns: &[
        col!("balance_type", Text),
        col!("amount", Int8),
        col!("currency", Text),
        col!("source_types", Jsonb),
        col!("attrs", Jsonb, []),
    ],
    filters: &[],
    ids: IdsStrategy::Unsupported,
    access: Access::Single {
        rows: &["available", "pending"],
        label: "balance_type",
    },
    defaults: &[],
};
