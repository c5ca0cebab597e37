//! The `products` object: columns and list filters of `GET /v1/products` (API version 2026-10-28).

use crate::spec::{ColType::*, ColumnSpec, FilterKind, FilterSpec, IdsStrategy, ObjectSpec};

const fn col(name: &'static str, ty: crate::spec::ColType) -> ColumnSpec {
    ColumnSpec {
        name,
        ty,
        path: &[],
    }
}

pub static PRODUCTS: ObjectSpec = ObjectSpec {
    name: "products",
    endpoint: "products",
    object_type: "product",
    columns: &[
        ColumnSpec {
            path: &["id"],
            ..col("id", Text)
        },
        ColumnSpec {
            path: &["name"],
            ..col("name", Text)
        },
        ColumnSpec {
            path: &["active"],
            ..col("active", Bool)
        },
        ColumnSpec {
            path: &["description"],
            ..col("description", Text)
        },
        ColumnSpec {
            path: &["default_price"],
            ..col("default_price", Text)
        },
        ColumnSpec {
            path: &["images"],
            ..col("images", TextArray)
        },
        ColumnSpec {
            path: &["metadata"],
            ..col("metadata", Jsonb)
        },
        ColumnSpec {
            path: &["marketing_features"],
            ..col("marketing_features", Jsonb)
        },
        ColumnSpec {
            path: &["package_dimensions"],
            ..col("package_dimensions", Jsonb)
        },
        ColumnSpec {
            path: &["shippable"],
            ..col("shippable", Bool)
        },
        ColumnSpec {
            path: &["statement_descriptor"],
            ..col("statement_descriptor", Text)
        },
        ColumnSpec {
            path: &["tax_code"],
            ..col("tax_code", Text)
        },
        ColumnSpec {
            path: &["type"],
            ..col("type", Text)
        },
        ColumnSpec {
            path: &["unit_label"],
            ..col("unit_label", Text)
        },
        ColumnSpec {
            path: &["url"],
            ..col("url", Text)
        },
        ColumnSpec {
            path: &["livemode"],
            ..col("livemode", Bool)
        },
        ColumnSpec {
            path: &["created"],
            ..col("created", Timestamptz)
        },
        ColumnSpec {
            path: &["updated"],
            ..col("updated", Timestamptz)
        },
        col("attrs", Jsonb),
    ],
    filters: &[
        FilterSpec {
            column: "active",
            kind: FilterKind::BoolEq("active"),
        },
        FilterSpec {
            column: "shippable",
            kind: FilterKind::BoolEq("shippable"),
        },
        FilterSpec {
            column: "url",
            kind: FilterKind::TextEq("url"),
        },
        FilterSpec {
            column: "type",
            kind: FilterKind::TextEnum("type", &["good", "service"]),
        },
        FilterSpec {
            column: "created",
            kind: FilterKind::Range("created"),
        },
    ],
    ids: IdsStrategy::ListParam {
        param: "ids[]",
        max: 100,
    },
};
