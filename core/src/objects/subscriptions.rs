//! The `subscriptions` object: `GET /v1/subscriptions`, with `status=all` unless a status is pushed
//! (Stripe's default leaves canceled subscriptions out), and the billing period from the first
//! item where the subscription has none (API versions since 2025-03-31 keep it on the items).

use crate::spec::{Access, FilterKind::*, IdsStrategy, ObjectSpec};
use crate::{col, filter};

/// Every status a subscription can have (Stripe's `status` filter also takes `all` and `ended`,
/// which no subscription has: a query for them is left to Postgres, which finds no row).
const STATUSES: &[&str] = &[
    "active",
    "canceled",
    "incomplete",
    "incomplete_expired",
    "past_due",
    "paused",
    "trialing",
    "unpaid",
];

pub static SUBSCRIPTIONS: ObjectSpec = ObjectSpec {
    name: "subscriptions",
    table: "subscriptions",
    endpoint: "subscriptions",
    object_type: "subscription",
    columns: &[
        col!("id", Text),
        col!("customer", Text),
        col!("status", Text),
        col!("currency", Text),
        col!(
            "current_period_start",
            Timestamptz,
            ["current_period_start"],
            or ["items", "data", "0", "current_period_start"]
        ),
        col!(
            "current_period_end",
            Timestamptz,
            ["current_period_end"],
            or ["items", "data", "0", "current_period_end"]
        ),
        // The first item's price and quantity: the one plan of most subscriptions.
        col!("price", Text, ["items", "data", "0", "price"]),
        col!("quantity", Int8, ["items", "data", "0", "quantity"]),
        col!("items", Jsonb, ["items", "data"]),
        col!("cancel_at_period_end", Bool),
        col!("cancel_at", Timestamptz),
        col!("canceled_at", Timestamptz),
        col!("ended_at", Timestamptz),
        col!("trial_start", Timestamptz),
        col!("trial_end", Timestamptz),
        col!("start_date", Timestamptz),
        col!("billing_cycle_anchor", Timestamptz),
        col!("collection_method", Text),
        col!("description", Text),
        col!("latest_invoice", Text),
        col!("default_payment_method", Text),
        col!("metadata", Jsonb),
        col!("livemode", Bool),
        col!("created", Timestamptz),
        col!("attrs", Jsonb, []),
    ],
    filters: &[
        filter!("customer"),
        filter!("status", TextEnum("status", STATUSES)),
        // Stripe returns the subscriptions with this price on any item, the column shows the first
        // item's: more rows than the condition keeps, never fewer; Postgres drops the rest.
        filter!("price"),
        filter!(
            "collection_method",
            TextEnum(
                "collection_method",
                &["charge_automatically", "send_invoice"]
            )
        ),
        filter!("created", Range("created")),
    ],
    ids: IdsStrategy::Retrieve,
    access: Access::List { required: None },
    defaults: &[("status", "all")],
};
