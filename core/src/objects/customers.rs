//! The `customers` object: `GET /v1/customers` (a deleted customer is no row).

use crate::spec::{Access, FilterKind::*, IdsStrategy, ObjectSpec};
use crate::{col, filter};

pub static CUSTOMERS: ObjectSpec = ObjectSpec {
    name: "customers",
    table: "customers",
    endpoint: "customers",
    object_type: "customer",
    columns: &[
        col!("id", Text),
        col!("email", Text),
        col!("name", Text),
        col!("description", Text),
        col!("phone", Text),
        col!("currency", Text),
        col!("balance", Int8),
        col!("delinquent", Bool),
        col!("address", Jsonb),
        col!("shipping", Jsonb),
        col!("invoice_prefix", Text),
        col!("invoice_settings", Jsonb),
        col!("tax_exempt", Text),
        col!("preferred_locales", TextArray),
        col!("test_clock", Text),
        col!("metadata", Jsonb),
        col!("livemode", Bool),
        col!("created", Timestamptz),
        col!("attrs", Jsonb, []),
    ],
    filters: &[
        filter!("email"),
        filter!("test_clock"),
        filter!("created", Range("created")),
    ],
    ids: IdsStrategy::Retrieve,
    access: Access::List { required: None },
    defaults: &[],
};
