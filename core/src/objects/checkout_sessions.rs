//! The `checkout/sessions` object: `GET /v1/checkout/sessions`.

use crate::spec::{Access, IdsStrategy, ObjectSpec};
use crate::{col, filter};

pub static CHECKOUT_SESSIONS: ObjectSpec = ObjectSpec {
    name: "checkout/sessions",
    table: "checkout_sessions",
    endpoint: "checkout/sessions",
    object_type: "checkout.session",
    columns: &[
        col!("id", Text),
        col!("customer", Text),
        col!("customer_email", Text),
        col!("payment_intent", Text),
        col!("subscription", Text),
        col!("setup_intent", Text),
        col!("invoice", Text),
        col!("payment_link", Text),
        col!("mode", Text),
        col!("status", Text),
        col!("payment_status", Text),
        col!("client_reference_id", Text),
        col!("amount_subtotal", Int8),
        col!("amount_total", Int8),
        col!("currency", Text),
        col!("success_url", Text),
        col!("cancel_url", Text),
        col!("url", Text),
        col!("customer_details", Jsonb),
        col!("expires_at", Timestamptz),
        col!("metadata", Jsonb),
        col!("livemode", Bool),
        col!("created", Timestamptz),
        col!("attrs", Jsonb, []),
    ],
    filters: &[
        filter!("customer"),
        filter!("payment_intent"),
        filter!("payment_link"),
        filter!("subscription"),
    ],
    ids: IdsStrategy::Retrieve,
    access: Access::List { required: None },
    defaults: &[],
};
