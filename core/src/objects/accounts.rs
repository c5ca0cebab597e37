//! The `accounts` object (Stripe Connect): `GET /v1/accounts`.

use crate::spec::{Access, FilterKind::*, IdsStrategy, ObjectSpec};
use crate::{col, filter};

pub static ACCOUNTS: ObjectSpec = ObjectSpec {
    name: "accounts",
    table: "accounts",
    endpoint: "accounts",
    object_type: "account",
    columns: &[
        col!("id", Text),
        col!("business_type", Text),
        col!("country", Text),
        col!("email", Text),
        col!("type", Text),
        col!("default_currency", Text),
        col!("charges_enabled", Bool),
        col!("payouts_enabled", Bool),
        col!("details_submitted", Bool),
        col!("business_profile", Jsonb),
        col!("capabilities", Jsonb),
        col!("metadata", Jsonb),
        col!("created", Timestamptz),
        col!("attrs", Jsonb, []),
    ],
    filters: &[filter!("created", Range("created"))],
    ids: IdsStrategy::Retrieve,
    access: Access::List { required: None },
    defaults: &[],
};
