//! The `events` object: columns and list filters of `GET /v1/events` (30 days of Stripe's events).

use crate::spec::{Access, FilterKind::*, IdsStrategy, ObjectSpec};
use crate::{col, filter};

pub static EVENTS: ObjectSpec = ObjectSpec {
    name: "events",
    table: "events",
    endpoint: "events",
    object_type: "event",
    columns: &[
        col!("id", Text),
        col!("type", Text),
        col!("created", Timestamptz),
        col!("api_version", Text),
        col!("livemode", Bool),
        col!("pending_webhooks", Int8),
        col!("request_id", Text, ["request", "id"]),
        col!("data", Jsonb, ["data", "object"]),
        col!(
            "previous_attributes",
            Jsonb,
            ["data", "previous_attributes"]
        ),
        col!("attrs", Jsonb, []),
    ],
    filters: &[
        filter!(
            "type",
            EventType {
                param: "type",
                array: "types[]",
                max: 20,
            }
        ),
        filter!("created", Range("created")),
    ],
    ids: IdsStrategy::Retrieve,
    access: Access::List { required: None },
    defaults: &[],
};
