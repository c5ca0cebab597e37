//! The `products` object: columns and list filters of `GET /v1/products` (API version 2026-10-28).

use crate::spec::{Access, FilterKind::*, IdsStrategy, ObjectSpec};
use crate::{col, filter};

pub static PRODUCTS: ObjectSpec = ObjectSpec {
    name: "products",
    table: "products",
    endpoint: "products",
    object_type: "product",
    columns: &[
        col!("id", Text),
        col!("name", Text),
        col!("active", Bool),
        col!("description", Text),
        col!("default_price", Text),
        col!("images", TextArray),
        col!("metadata", Jsonb),
        col!("marketing_features", Jsonb),
        col!("package_dimensions", Jsonb),
        col!("shippable", Bool),
        col!("statement_descriptor", Text),
        col!("tax_code", Text),
        col!("type", Text),
        col!("unit_label", Text),
        col!("url", Text),
        col!("livemode", Bool),
        col!("created", Timestamptz),
        col!("updated", Timestamptz),
        col!("attrs", Jsonb, []),
    ],
    filters: &[
        filter!("active", BoolEq("active")),
        filter!("shippable", BoolEq("shippable")),
        filter!("url"),
        filter!("type", TextEnum("type", &["good", "service"])),
        filter!("created", Range("created")),
    ],
    ids: IdsStrategy::ListParam {
        param: "ids[]",
        max: 100,
    },
    access: Access::List { required: None },
    defaults: &[],
};
