//! The objects beyond the catalog: every kind lists and retrieves what the demo seeds, strictly per
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Stripe's spec; subscriptions, checkout and the other writes change state and record events.

mod common;

use common::{start, Fx};
use fake_stripe::Catalog;
use serde_json::Value;

fn event_types(fx: &Fx) -> Vec<String> {
    fx.server
        .events()
        .iter()
        .rev()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_kind_lists_or_retrieves_its_seeded_objects() {
    let fx = start(Catalog::Demo);
    for (endpoint, object, _) in fake_stripe::docs::KINDS {
        let spec = &fake_stripe::docs::api()["endpoints"][endpoint];
        if *endpoint == "balance" {
            let b = fx.get("balance");
            assert_eq!(b.status, 200);
            assert_eq!(b.body["object"], "balance");
            assert!(b.body.get("id").is_none());
            continue;
        }
        let listed: Vec<Value> = if spec["list"].is_null() {
            let r = fx.get(endpoint);
            assert_eq!(r.status, 404, "{endpoint} has no list in Stripe");
            let fixture = fake_stripe::docs::fixture(object);
            vec![fixture]
        } else if *endpoint == "setup_attempts" {
            fx.get("setup_attempts?setup_intent=seti_1Pgag7B7WZ01zgkWSgwGdb8Z")
                .data()
                .clone()
        } else if *endpoint == "subscription_items" {
            let sub = fx.get("subscriptions").data()[0].clone();
            fx.get(&format!(
                "subscription_items?subscription={}",
                sub["id"].as_str().unwrap()
            ))
            .data()
            .clone()
        } else {
            fx.get(endpoint).data().clone()
        };
        assert!(!listed.is_empty(), "{endpoint}");
        for o in &listed {
            assert_eq!(o["object"], *object, "{endpoint}");
            if spec["retrieve"] == true {
                let one = fx.get(&format!("{endpoint}/{}", o["id"].as_str().unwrap()));
                assert_eq!(&one.body, o, "{endpoint}");
            }
        }
    }
}

#[test]
fn list_parameters_are_checked_against_the_spec() {
    let fx = start(Catalog::Demo);
    let r = fx.get("customers?status=active");
    assert_eq!((r.status, r.err_param()), (400, "status".to_string()));
    let r = fx.get("subscriptions?status=ended_or_not");
    assert_eq!((r.status, r.err_param()), (400, "status".to_string()));
    let r = fx.get("invoices?status=paid&collection_method=sometimes");
    assert_eq!(
        (r.status, r.err_param()),
        (400, "collection_method".to_string())
    );
    let r = fx.get("file_links?expired=maybe");
    assert_eq!(r.status, 400);
    let r = fx.get("setup_attempts");
    assert_eq!((r.status, r.err_param()), (400, "setup_intent".to_string()));
    assert!(r.err_message().contains("Missing required param"));
    let r = fx.get("subscription_items?limit=3");
    assert_eq!((r.status, r.err_param()), (400, "subscription".to_string()));
    assert_eq!(
        fx.get("checkout/sessions?created=1").status,
        400,
        "no created filter in the spec"
    );
    assert_eq!(fx.get("payouts?arrival_date[gte]=1").status, 200);
    assert_eq!(fx.get("tokens").status, 404);
    assert_eq!(fx.get("mandates").status, 404);
}

#[test]
fn subscriptions_leave_canceled_ones_out_unless_asked() {
    let fx = start(Catalog::Demo);
    let statuses = |q: &str| -> Vec<String> {
        fx.get(q)
            .data()
            .iter()
            .map(|s| s["status"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(statuses("subscriptions"), vec!["active"]);
    let mut all = statuses("subscriptions?status=all");
    all.sort();
    assert_eq!(all, vec!["active", "canceled"]);
    assert_eq!(statuses("subscriptions?status=canceled"), vec!["canceled"]);
    assert_eq!(statuses("subscriptions?status=ended"), vec!["canceled"]);
    let active = fx.get("subscriptions").data()[0].clone();
    // The current shape: the period is on the items only.
    assert!(active.get("current_period_start").is_none());
    let item = &active["items"]["data"][0];
    assert!(
        item["current_period_end"].as_i64().unwrap()
            > item["current_period_start"].as_i64().unwrap()
    );
    let price = item["price"]["id"].as_str().unwrap();
    assert_eq!(
        fx.get(&format!("subscriptions?price={price}")).data().len(),
        1
    );
    assert_eq!(fx.get("subscriptions?price=price_other").data().len(), 0);
    let invoices = fx.get(&format!(
        "invoices?subscription={}",
        active["id"].as_str().unwrap()
    ));
    assert_eq!(
        invoices.data().len(),
        1,
        "found through parent.subscription_details"
    );
}

#[test]
fn checkout_completion_starts_the_subscription_and_records_its_events() {
    let fx = start(Catalog::Demo);
    let cus = fx.post("customers", &[("email", "carol@example.com")]);
    assert_eq!(cus.status, 200);
    let cus = cus.body["id"].as_str().unwrap().to_string();
    let s = fx.post(
        "checkout/sessions",
        &[
            ("mode", "subscription"),
            ("customer", &cus),
            ("line_items[0][price]", "price_DemoTeamMonthlyUsd000000"),
            ("line_items[0][quantity]", "3"),
            ("success_url", "https://example.com/ok"),
            ("allow_promotion_codes", "true"),
        ],
    );
    assert_eq!(s.status, 200, "{:?}", s.body);
    assert_eq!(s.body["status"], "open");
    let id = s.body["id"].as_str().unwrap().to_string();
    let done = fx.server.complete_checkout(&id).expect("completed");
    assert_eq!(done["status"], "complete");
    let sub = fx.get(&format!(
        "subscriptions/{}",
        done["subscription"].as_str().unwrap()
    ));
    assert_eq!(sub.body["customer"], cus.as_str());
    assert_eq!(sub.body["items"]["data"][0]["quantity"], 3);
    assert_eq!(
        event_types(&fx),
        vec![
            "customer.created",
            "customer.subscription.created",
            "checkout.session.completed"
        ]
    );
    assert!(
        fx.server.complete_checkout(&id).is_err(),
        "a session completes once"
    );
    // The same over HTTP.
    let s = fx.post(
        "checkout/sessions",
        &[
            ("mode", "subscription"),
            ("customer_email", "dan@example.com"),
            ("line_items[0][price]", "price_DemoProMonthlyUsd0000000"),
        ],
    );
    let r = fx.control(
        "POST",
        "/__checkout/complete",
        Some(serde_json::json!({"session": s.body["id"]})),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["customer_details"]["email"], "dan@example.com");
    assert_eq!(
        fx.get(&format!(
            "customers/{}",
            r.body["customer"].as_str().unwrap()
        ))
        .body["email"],
        "dan@example.com"
    );
}

#[test]
fn a_subscription_cancels_at_period_end_changes_price_and_cancels_now() {
    let fx = start(Catalog::Demo);
    let sub = fx.get("subscriptions").data()[0].clone();
    let id = sub["id"].as_str().unwrap();
    let item = sub["items"]["data"][0]["id"].as_str().unwrap();
    let r = fx.post(
        &format!("subscriptions/{id}"),
        &[("cancel_at_period_end", "true")],
    );
    assert_eq!(r.body["cancel_at_period_end"], true);
    assert_eq!(
        r.body["cancel_at"],
        sub["items"]["data"][0]["current_period_end"]
    );
    let r = fx.post(
        &format!("subscriptions/{id}"),
        &[
            ("items[0][id]", item),
            ("items[0][price]", "price_DemoProYearlyUsd00000000"),
        ],
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["items"]["data"][0]["id"], item, "the item is kept");
    assert_eq!(
        r.body["items"]["data"][0]["price"]["id"],
        "price_DemoProYearlyUsd00000000"
    );
    let listed = fx.get(&format!("subscription_items?subscription={id}"));
    assert_eq!(
        listed.data()[0]["price"]["id"],
        "price_DemoProYearlyUsd00000000"
    );
    let r = fx.delete(&format!("subscriptions/{id}"));
    assert_eq!(r.body["status"], "canceled");
    assert!(fx.get("subscriptions").data().is_empty());
    assert_eq!(
        fx.get(&format!("subscriptions/{id}")).body["status"],
        "canceled"
    );
    assert_eq!(
        event_types(&fx),
        vec![
            "customer.subscription.updated",
            "customer.subscription.updated",
            "customer.subscription.deleted"
        ]
    );
    let evs = fx.server.events();
    assert_eq!(
        evs[1]["data"]["previous_attributes"]["items"]["data"][0]["price"]["id"],
        "price_DemoProMonthlyUsd0000000"
    );
}

#[test]
fn customers_invoices_payment_intents_and_charges_are_written_with_their_events() {
    let fx = start(Catalog::Empty);
    let c = fx
        .post(
            "customers",
            &[("email", "e@example.com"), ("metadata[app_id]", "7")],
        )
        .body;
    let cid = c["id"].as_str().unwrap();
    assert!(cid.starts_with("cus_"));
    assert_eq!(
        fx.post(&format!("customers/{cid}"), &[("name", "Eve")])
            .body["name"],
        "Eve"
    );
    assert_eq!(fx.get("customers?email=e@example.com").data().len(), 1);
    assert_eq!(
        fx.get("customers?email=E@example.com").data().len(),
        0,
        "case-sensitive, as Stripe"
    );
    let inv = fx.post("invoices", &[("customer", cid)]).body;
    assert_eq!(inv["status"], "draft");
    let pi = fx.post(
        "payment_intents",
        &[("amount", "500"), ("currency", "usd"), ("customer", cid)],
    );
    assert_eq!(pi.body["status"], "requires_payment_method");
    assert_eq!(
        fx.post("payment_intents", &[("amount", "500")]).err_param(),
        "currency"
    );
    let ch = fx.post(
        "charges",
        &[("amount", "500"), ("currency", "usd"), ("bogus", "1")],
    );
    assert_eq!(ch.err_param(), "bogus");
    let ch = fx
        .post("charges", &[("amount", "500"), ("currency", "usd")])
        .body;
    fx.post(
        &format!("charges/{}", ch["id"].as_str().unwrap()),
        &[("description", "x")],
    );
    assert_eq!(
        fx.delete(&format!("invoices/{}", inv["id"].as_str().unwrap()))
            .body["deleted"],
        true
    );
    let gone = fx.delete(&format!("customers/{cid}"));
    assert_eq!(gone.body["deleted"], true);
    assert_eq!(fx.get(&format!("customers/{cid}")).body["deleted"], true);
    assert!(fx.get("customers").data().is_empty());
    assert_eq!(
        event_types(&fx),
        vec![
            "customer.created",
            "customer.updated",
            "invoice.created",
            "payment_intent.created",
            "charge.succeeded",
            "charge.updated",
            "invoice.deleted",
            "customer.deleted"
        ]
    );
}
