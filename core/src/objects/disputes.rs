//! The `disputes` object: `GET /v1/disputes`.

use crate::spec::{Access, FilterKind::*, IdsStrategy, ObjectSpec};
use crate::{col, filter};

pub static DISPUTES: ObjectSpec = ObjectSpec {
    name: "disputes",
    table: "disputes",
    endpoint: "disputes",
    object_type: "dispute",
    columns: &[
        col!("id", Text),
        col!("amount", Int8),
        col!("currency", Text),
        col!("charge", Text),
        col!("payment_intent", Text),
        col!("reason", Text),
        col!("status", Text),
        col!("is_charge_refundable", Bool),
        col!("evidence_details", Jsonb),
        col!("metadata", Jsonb),
        col!("livemode", Bool),
        col!("created", Timestamptz),
        col!("attrs", Jsonb, []),
    ],
    filters: &[
        filter!("charge"),
        filter!("payment_intent"),
        filter!("created", Range("created")),
    ],
    ids: IdsStrategy::Retrieve,
    access: Access::List { required: None },
    defaults: &[],
};
