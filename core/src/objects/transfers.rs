//! The `transfers` object (Stripe Connect): `GET /v1/transfers`.

use crate::spec::{Access, FilterKind::*, IdsStrategy, ObjectSpec};
use crate::{col, filter};

pub static TRANSFERS: ObjectSpec = ObjectSpec {
    name: "transfers",
    table: "transfers",
    endpoint: "transfers",
    object_type: "transfer",
    columns: &[
        col!("id", Text),
        col!("amount", Int8),
        col!("amount_reversed", Int8),
        col!("currency", Text),
        col!("description", Text),
        col!("destination", Text),
        col!("destination_payment", Text),
        col!("reversed", Bool),
        col!("source_transaction", Text),
        col!("source_type", Text),
        col!("transfer_group", Text),
        col!("balance_transaction", Text),
        col!("metadata", Jsonb),
        col!("livemode", Bool),
        col!("created", Timestamptz),
        col!("attrs", Jsonb, []),
    ],
    filters: &[
        filter!("destination"),
        filter!("transfer_group"),
        filter!("created", Range("created")),
    ],
    ids: IdsStrategy::Retrieve,
    access: Access::List { required: None },
    defaults: &[],
};
