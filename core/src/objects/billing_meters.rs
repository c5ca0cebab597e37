//! The `billing/meters` object: `GET /v1/billing/meters` (newer than the 2023 spec: nothing is pushed but `id`).

use crate::col;
use crate::spec::{Access, IdsStrategy, ObjectSpec};

pub static BILLING_METERS: ObjectSpec = ObjectSpec {
    name: "billing/meters",
    table: "billing_meters",
    endpoint: "billing/meters",
    object_type: "billing.meter",
    columns: &[
        col!("id", Text),
        col!("display_name", Text),
        col!("event_name", Text),
        col!("event_time_window", Text),
        col!("status", Text),
        col!("customer_mapping", Jsonb),
        col!("default_aggregation", Jsonb),
        col!("value_settings", Jsonb),
        col!("livemode", Bool),
        col!("created", Timestamptz),
        col!("updated", Timestamptz),
        col!("attrs", Jsonb, []),
    ],
    filters: &[],
    ids: IdsStrategy::Retrieve,
    access: Access::List { required: None },
    defaults: &[],
};
