//! The `prices` object: columns and list filters of `GET /v1/prices` (API version 2026-10-28).

use crate::spec::{Access, FilterKind::*, IdsStrategy, ObjectSpec};
use crate::{col, filter};

pub static PRICES: ObjectSpec = ObjectSpec {
    name: "prices",
    table: "prices",
    endpoint: "prices",
    object_type: "price",
    columns: &[
        col!("id", Text),
        col!("product", Text),
        col!("active", Bool),
        col!("currency", Text),
        col!("unit_amount", Int8),
        col!("unit_amount_decimal", Numeric),
        col!("type", Text),
        col!("billing_scheme", Text),
        col!("lookup_key", Text),
        col!("nickname", Text),
        col!("recurring", Jsonb),
        col!("recurring_interval", Text, ["recurring", "interval"]),
        col!(
            "recurring_interval_count",
            Int8,
            ["recurring", "interval_count"]
        ),
        col!("recurring_usage_type", Text, ["recurring", "usage_type"]),
        col!(
            "trial_period_days",
            Int8,
            ["recurring", "trial_period_days"]
        ),
        col!("tax_behavior", Text),
        col!("tiers_mode", Text),
        col!("transform_quantity", Jsonb),
        col!("custom_unit_amount", Jsonb),
        col!("metadata", Jsonb),
        col!("livemode", Bool),
        col!("created", Timestamptz),
        col!("attrs", Jsonb, []),
    ],
    filters: &[
        filter!("active", BoolEq("active")),
        filter!("product"),
        filter!("currency"),
        filter!("type", TextEnum("type", &["one_time", "recurring"])),
        filter!(
            "lookup_key",
            ArrayIn {
                param: "lookup_keys[]",
                max: 10,
            }
        ),
        filter!(
            "recurring_interval",
            TextEnum("recurring[interval]", &["day", "week", "month", "year"])
        ),
        filter!(
            "recurring_usage_type",
            TextEnum("recurring[usage_type]", &["licensed", "metered"])
        ),
        filter!("created", Range("created")),
    ],
    ids: IdsStrategy::Retrieve,
    access: Access::List { required: None },
    defaults: &[],
};
