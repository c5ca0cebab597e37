//! The `invoices` object: `GET /v1/invoices` (`subscription` from `parent` on API versions since 2025-03-31).

use crate::spec::{Access, FilterKind::*, IdsStrategy, ObjectSpec};
use crate::{col, filter};

pub static INVOICES: ObjectSpec = ObjectSpec {
    name: "invoices",
    table: "invoices",
    endpoint: "invoices",
    object_type: "invoice",
    columns: &[
        col!("id", Text),
        col!("customer", Text),
        col!("subscription", Text, ["subscription"], or ["parent", "subscription_details", "subscription"]),
        col!("status", Text),
        col!("number", Text),
        col!("total", Int8),
        col!("subtotal", Int8),
        col!("amount_due", Int8),
        col!("amount_paid", Int8),
        col!("amount_remaining", Int8),
        col!("currency", Text),
        col!("collection_method", Text),
        col!("billing_reason", Text),
        col!("description", Text),
        col!("customer_email", Text),
        col!("customer_name", Text),
        col!("hosted_invoice_url", Text),
        col!("invoice_pdf", Text),
        col!("period_start", Timestamptz),
        col!("period_end", Timestamptz),
        col!("due_date", Timestamptz),
        col!("lines", Jsonb, ["lines", "data"]),
        col!("parent", Jsonb),
        col!("metadata", Jsonb),
        col!("livemode", Bool),
        col!("created", Timestamptz),
        col!("attrs", Jsonb, []),
    ],
    filters: &[
        filter!("customer"),
        filter!("subscription"),
        filter!(
            "status",
            TextEnum(
                "status",
                &["draft", "open", "paid", "uncollectible", "void"]
            )
        ),
        filter!(
            "collection_method",
            TextEnum(
                "collection_method",
                &["charge_automatically", "send_invoice"]
            )
        ),
        filter!("due_date", Range("due_date")),
        filter!("created", Range("created")),
    ],
    ids: IdsStrategy::Retrieve,
    access: Access::List { required: None },
    defaults: &[],
};
