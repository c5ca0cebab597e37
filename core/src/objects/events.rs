//! The `events` object: columns and list filters of `GET /v1/events` (30 days of Stripe's events).

use crate::spec::{ColType::*, ColumnSpec, FilterKind, FilterSpec, IdsStrategy, ObjectSpec};

const fn col(name: &'static str, ty: crate::spec::ColType) -> ColumnSpec {
    ColumnSpec {
        name,
        ty,
        path: &[],
    }
}

pub static EVENTS: ObjectSpec = ObjectSpec {
    name: "events",
    endpoint: "events",
    object_type: "event",
    columns: &[
        ColumnSpec {
            path: &["id"],
            ..col("id", Text)
        },
        ColumnSpec {
            path: &["type"],
            ..col("type", Text)
        },
        ColumnSpec {
            path: &["created"],
            ..col("created", Timestamptz)
        },
        ColumnSpec {
            path: &["api_version"],
            ..col("api_version", Text)
        },
        ColumnSpec {
            path: &["livemode"],
            ..col("livemode", Bool)
        },
        ColumnSpec {
            path: &["pending_webhooks"],
            ..col("pending_webhooks", Int8)
        },
        ColumnSpec {
            path: &["request", "id"],
            ..col("request_id", Text)
        },
        ColumnSpec {
            path: &["data", "object"],
            ..col("data", Jsonb)
        },
        ColumnSpec {
            path: &["data", "previous_attributes"],
            ..col("previous_attributes", Jsonb)
        },
        col("attrs", Jsonb),
    ],
    filters: &[
        FilterSpec {
            column: "type",
            kind: FilterKind::EventType {
                param: "type",
                array: "types[]",
                max: 20,
            },
        },
        FilterSpec {
            column: "created",
            kind: FilterKind::Range("created"),
        },
    ],
    ids: IdsStrategy::Retrieve,
};
