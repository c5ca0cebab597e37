//! The objects beyond the catalog that a fake starts with: the balance always; in the demo catalog,
//! two customers with subscriptions (one active, one canceled), an invoice, a payment, a completed
//! Checkout Session, and Stripe's own example object of every other kind (from its fixtures).

use serde_json::{json, Value};

use crate::docs::{fixture, insert};
use crate::params::Params;
use crate::state::State;

/// Kinds seeded from Stripe's fixtures as they are (list and retrieve only in the fake).
const FROM_FIXTURES: &[(&str, &str)] = &[
    ("accounts", "account"),
    ("balance_transactions", "balance_transaction"),
    ("disputes", "dispute"),
    ("files", "file"),
    ("file_links", "file_link"),
    ("mandates", "mandate"),
    ("billing/meters", "billing.meter"),
    ("payouts", "payout"),
    ("refunds", "refund"),
    ("setup_attempts", "setup_attempt"),
    ("setup_intents", "setup_intent"),
    ("tokens", "token"),
    ("topups", "topup"),
    ("transfers", "transfer"),
];

/// The account's balance (Stripe's example: USD, available and pending).
pub fn base(state: &mut State) {
    let mut balance = fixture("balance");
    balance["id"] = json!("balance");
    insert(&mut state.docs, "balance", balance);
}

fn params(pairs: &[(&str, &str)]) -> Params {
    let owned: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Params::parse(&owned).unwrap_or_default()
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_string()
}

/// The demo's customers and billing; the seeded catalog records no events.
pub fn demo(state: &mut State) -> Result<(), String> {
    for (endpoint, object) in FROM_FIXTURES {
        insert(&mut state.docs, endpoint, fixture(object)).ok_or(format!("fixture {object}"))?;
    }
    let e = |e: crate::errors::ApiError| e.message;
    let alice = crate::writes::create(
        state,
        "customers",
        params(&[("email", "alice@example.com"), ("name", "Alice Doe")]),
    )
    .map_err(e)?;
    let bob = crate::writes::create(
        state,
        "customers",
        params(&[("email", "bob@example.com"), ("name", "Bob Roe")]),
    )
    .map_err(e)?;
    let price = |stem: &str| crate::seed::pad_id("price_", stem, crate::ids::PRICE_ID_LEN);
    let (pro, hobby) = (price("DemoProMonthlyUsd"), price("DemoHobbyMonthlyUsd"));
    let pro = pro.as_str();
    let active =
        crate::subscriptions::start(state, &id(&alice), &[(pro.into(), 1)], Default::default())
            .map_err(e)?;
    let ended = crate::subscriptions::start(state, &id(&bob), &[(hobby, 1)], Default::default())
        .map_err(e)?;
    crate::subscriptions::cancel(state, &id(&ended), Params::default()).map_err(e)?;
    let mut invoice =
        crate::writes::create(state, "invoices", params(&[("customer", &id(&alice))]))
            .map_err(e)?;
    invoice["status"] = json!("paid");
    invoice["total"] = json!(2900);
    invoice["amount_due"] = json!(2900);
    invoice["amount_paid"] = json!(2900);
    invoice["parent"] = json!({"type": "subscription_details", "quote_details": null,
        "subscription_details": {"metadata": {}, "subscription": id(&active)}});
    state.put_doc("invoices", invoice);
    let pi = crate::writes::create(
        state,
        "payment_intents",
        params(&[
            ("amount", "2900"),
            ("currency", "usd"),
            ("customer", &id(&alice)),
        ]),
    )
    .map_err(e)?;
    let mut charge = crate::writes::create(
        state,
        "charges",
        params(&[
            ("amount", "2900"),
            ("currency", "usd"),
            ("customer", &id(&alice)),
        ]),
    )
    .map_err(e)?;
    charge["payment_intent"] = pi["id"].clone();
    state.put_doc("charges", charge);
    let session = crate::checkout::create(
        state,
        params(&[
            ("mode", "subscription"),
            ("customer", &id(&alice)),
            ("line_items[0][price]", pro),
            ("success_url", "https://example.com/account"),
        ]),
    )
    .map_err(e)?;
    let mut session_done = session.clone();
    session_done["status"] = json!("complete");
    session_done["payment_status"] = json!("paid");
    session_done["subscription"] = active["id"].clone();
    state.put_doc("checkout/sessions", session_done);
    state.changes.clear();
    Ok(())
}
