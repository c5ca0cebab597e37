//! The `subscription_items` object: `GET /v1/subscription_items`, which needs a `subscription`.

use crate::spec::{Access, FilterKind::*, IdsStrategy, ObjectSpec};
use crate::{col, filter};

pub static SUBSCRIPTION_ITEMS: ObjectSpec = ObjectSpec {
    name: "subscription_items",
    table: "subscription_items",
    endpoint: "subscription_items",
    object_type: "subscription_item",
    columns: &[
        col!("id", Text),
        col!("subscription", Text),
        col!("price", Text),
        col!("quantity", Int8),
        col!("current_period_start", Timestamptz),
        col!("current_period_end", Timestamptz),
        col!("metadata", Jsonb),
        col!("created", Timestamptz),
        col!("attrs", Jsonb, []),
    ],
    filters: &[filter!("subscription", TextEqEach("subscription"))],
    ids: IdsStrategy::Retrieve,
    access: Access::List {
        required: Some("subscription"),
    },
    defaults: &[],
};
