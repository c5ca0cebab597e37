//! The `prices` object: columns and list filters of `GET /v1/prices` (API version 2026-10-28).

use crate::spec::{ColType::*, ColumnSpec, FilterKind, FilterSpec, IdsStrategy, ObjectSpec};

const fn col(name: &'static str, ty: crate::spec::ColType) -> ColumnSpec {
    ColumnSpec {
        name,
        ty,
        path: &[],
    }
}

pub static PRICES: ObjectSpec = ObjectSpec {
    name: "prices",
    endpoint: "prices",
    object_type: "price",
    columns: &[
        ColumnSpec {
            path: &["id"],
            ..col("id", Text)
        },
        ColumnSpec {
            path: &["product"],
            ..col("product", Text)
        },
        ColumnSpec {
            path: &["active"],
            ..col("active", Bool)
        },
        ColumnSpec {
            path: &["currency"],
            ..col("currency", Text)
        },
        ColumnSpec {
            path: &["unit_amount"],
            ..col("unit_amount", Int8)
        },
        ColumnSpec {
            path: &["unit_amount_decimal"],
            ..col("unit_amount_decimal", Numeric)
        },
        ColumnSpec {
            path: &["type"],
            ..col("type", Text)
        },
        ColumnSpec {
            path: &["billing_scheme"],
            ..col("billing_scheme", Text)
        },
        ColumnSpec {
            path: &["lookup_key"],
            ..col("lookup_key", Text)
        },
        ColumnSpec {
            path: &["nickname"],
            ..col("nickname", Text)
        },
        ColumnSpec {
            path: &["recurring"],
            ..col("recurring", Jsonb)
        },
        ColumnSpec {
            path: &["recurring", "interval"],
            ..col("recurring_interval", Text)
        },
        ColumnSpec {
            path: &["recurring", "interval_count"],
            ..col("recurring_interval_count", Int8)
        },
        ColumnSpec {
            path: &["recurring", "usage_type"],
            ..col("recurring_usage_type", Text)
        },
        ColumnSpec {
            path: &["recurring", "trial_period_days"],
            ..col("trial_period_days", Int8)
        },
        ColumnSpec {
            path: &["tax_behavior"],
            ..col("tax_behavior", Text)
        },
        ColumnSpec {
            path: &["tiers_mode"],
            ..col("tiers_mode", Text)
        },
        ColumnSpec {
            path: &["transform_quantity"],
            ..col("transform_quantity", Jsonb)
        },
        ColumnSpec {
            path: &["custom_unit_amount"],
            ..col("custom_unit_amount", Jsonb)
        },
        ColumnSpec {
            path: &["metadata"],
            ..col("metadata", Jsonb)
        },
        ColumnSpec {
            path: &["livemode"],
            ..col("livemode", Bool)
        },
        ColumnSpec {
            path: &["created"],
            ..col("created", Timestamptz)
        },
        col("attrs", Jsonb),
    ],
    filters: &[
        FilterSpec {
            column: "active",
            kind: FilterKind::BoolEq("active"),
        },
        FilterSpec {
            column: "product",
            kind: FilterKind::TextEq("product"),
        },
        FilterSpec {
            column: "currency",
            kind: FilterKind::TextEq("currency"),
        },
        FilterSpec {
            column: "type",
            kind: FilterKind::TextEnum("type", &["one_time", "recurring"]),
        },
        FilterSpec {
            column: "lookup_key",
            kind: FilterKind::ArrayIn {
                param: "lookup_keys[]",
                max: 10,
            },
        },
        FilterSpec {
            column: "recurring_interval",
            kind: FilterKind::TextEnum("recurring[interval]", &["day", "week", "month", "year"]),
        },
        FilterSpec {
            column: "recurring_usage_type",
            kind: FilterKind::TextEnum("recurring[usage_type]", &["licensed", "metered"]),
        },
        FilterSpec {
            column: "created",
            kind: FilterKind::Range("created"),
        },
    ],
    ids: IdsStrategy::Retrieve,
};
