//! The events API: every change made through the API records a Stripe-shaped event; list filters,
//! retrieve, retention and the control that ages events.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;

use common::{send, start, Fx};
use fake_stripe::{Catalog, DEFAULT_API_KEY};
use serde_json::{json, Value};

const DAY: i64 = 24 * 3600;

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

fn types(fx: &Fx, query: &str) -> Vec<String> {
    let r = fx.get(&format!("events?limit=100{query}"));
    assert_eq!(r.status, 200, "{query}: {:?}", r.body);
    r.data()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

/// Empty catalog plus: product A created, A renamed, price P on A, P updated, product B created
/// then deleted. Returns (product A id, price P id).
fn history(fx: &Fx) -> (String, String) {
    let a = fx.post("products", &[("name", "A")]).body["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        fx.post(&format!("products/{a}"), &[("name", "A2")]).status,
        200
    );
    let p = fx.post(
        "prices",
        &[("product", &a), ("currency", "usd"), ("unit_amount", "500")],
    );
    let p = p.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        fx.post(&format!("prices/{p}"), &[("nickname", "n")]).status,
        200
    );
    let b = fx.post("products", &[("name", "B")]).body["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(fx.delete(&format!("products/{b}")).status, 200);
    (a, p)
}

#[test]
fn seeded_catalog_records_no_events() {
    let fx = start(Catalog::Demo);
    let r = fx.get("events");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        json!({"object":"list","data":[],"has_more":false,"url":"/v1/events"})
    );
}

#[test]
fn every_change_records_one_event_in_stripe_shape() {
    let fx = start(Catalog::Empty);
    let spec = common::spec();
    let created = send(
        fx.http
            .post(format!("{}/products", fx.server.base_url()))
            .bearer_auth(DEFAULT_API_KEY)
            .header("Idempotency-Key", "idem-1")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("name=Pro&metadata[a]=1"),
    );
    assert_eq!(created.status, 200);
    let pid = created.body["id"].as_str().unwrap().to_string();
    let r = fx.get("events");
    assert_eq!(r.data().len(), 1);
    let e = &r.data()[0];
    assert_eq!(keys(e), keys(&spec["fixtures_2026"]["event"]));
    assert_eq!(e["object"], "event");
    assert_eq!(e["type"], "product.created");
    assert_eq!(e["api_version"], "2026-10-28.endive");
    assert_eq!(e["livemode"], false);
    assert_eq!(e["pending_webhooks"], 0);
    let id = e["id"].as_str().unwrap();
    assert!(id.starts_with("evt_") && id.len() == 28, "{id}");
    assert_eq!(e["data"], json!({"object": created.body}));
    assert_eq!(
        e["request"],
        json!({"id": created.header("request-id").unwrap(), "idempotency_key": "idem-1"})
    );
    assert!(e["created"].as_i64().unwrap() >= created.body["created"].as_i64().unwrap() - 5);

    let upd = fx.post(
        &format!("products/{pid}"),
        &[("name", "Pro 2"), ("metadata[a]", ""), ("metadata[b]", "2")],
    );
    let e = fx.get("events?limit=1").data()[0].clone();
    assert_eq!(e["type"], "product.updated");
    assert_eq!(e["data"]["object"], upd.body);
    let prev = &e["data"]["previous_attributes"];
    assert_eq!(prev["name"], "Pro");
    assert_eq!(prev["metadata"], json!({"a": "1", "b": null}));
    assert!(keys(prev).is_subset(&["name", "metadata", "updated"].map(String::from).into()));
    assert_eq!(e["request"]["idempotency_key"], Value::Null);

    fx.delete(&format!("products/{pid}"));
    let e = fx.get("events?limit=1").data()[0].clone();
    assert_eq!(e["type"], "product.deleted");
    assert_eq!(
        e["data"],
        json!({"object": upd.body}),
        "the product as it was"
    );
}

#[test]
fn prices_record_created_and_updated_and_a_lookup_key_transfer_updates_the_holder() {
    let fx = start(Catalog::Empty);
    let prod = fx.post("products", &[("name", "P")]).body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let base = [
        ("product", prod.as_str()),
        ("currency", "usd"),
        ("unit_amount", "100"),
    ];
    let mut with_key = base.to_vec();
    with_key.push(("lookup_key", "k"));
    let first = fx.post("prices", &with_key).body["id"]
        .as_str()
        .unwrap()
        .to_string();
    with_key.push(("transfer_lookup_key", "true"));
    let second = fx.post("prices", &with_key);
    assert_eq!(second.status, 200);
    let evs = fx.get("events?limit=3").data().clone();
    let got: Vec<(&str, &str)> = evs
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap(),
                e["data"]["object"]["id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("price.created", second.body["id"].as_str().unwrap()),
            ("price.updated", first.as_str()),
            ("price.created", first.as_str()),
        ]
    );
    assert_eq!(
        evs[1]["data"]["previous_attributes"],
        json!({"lookup_key": "k"})
    );
    assert_eq!(evs[1]["data"]["object"]["lookup_key"], Value::Null);
    assert_eq!(
        evs[0]["request"]["id"], evs[1]["request"]["id"],
        "one request"
    );
}

#[test]
fn refused_requests_reads_and_no_op_updates_record_nothing() {
    let fx = start(Catalog::Demo);
    let pid = fx.get("products?limit=1").ids()[0].clone();
    assert_eq!(fx.post("products", &[("name", "")]).status, 400);
    assert_eq!(
        fx.post(&format!("products/{pid}"), &[("bogus", "1")])
            .status,
        400
    );
    assert_eq!(
        fx.post("prices", &[("product", &pid), ("currency", "usd")])
            .status,
        400
    );
    assert_eq!(fx.delete("products/prod_missing").status, 404);
    let name = fx.get(&format!("products/{pid}")).body["name"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        fx.post(&format!("products/{pid}"), &[("name", &name)])
            .status,
        200
    );
    fx.get("prices");
    assert!(fx.get("events").data().is_empty());
    assert!(fx.server.events().is_empty());
}

#[test]
fn list_filters_and_pages_newest_first() {
    let fx = start(Catalog::Empty);
    history(&fx);
    let all = types(&fx, "");
    assert_eq!(
        all,
        [
            "product.deleted",
            "product.created",
            "price.updated",
            "price.created",
            "product.updated",
            "product.created"
        ]
    );
    assert_eq!(types(&fx, "&type=price.updated"), ["price.updated"]);
    assert_eq!(
        types(&fx, "&type=price.*"),
        ["price.updated", "price.created"]
    );
    assert_eq!(
        types(&fx, "&type=*.updated"),
        ["price.updated", "product.updated"]
    );
    assert_eq!(types(&fx, "&type=*").len(), 6);
    assert!(
        types(&fx, "&type=product").is_empty(),
        "no implicit wildcard"
    );
    assert_eq!(
        types(&fx, "&types[]=product.deleted&types[]=price.created"),
        ["product.deleted", "price.created"]
    );
    assert!(
        types(&fx, "&types[]=product.*").is_empty(),
        "types[] are exact names"
    );
    assert_eq!(types(&fx, "&delivery_success=true").len(), 6);
    assert!(types(&fx, "&delivery_success=false").is_empty());

    let evs = fx.get("events?limit=100").data().clone();
    let newest = evs[0]["created"].as_i64().unwrap();
    assert_eq!(types(&fx, &format!("&created[gt]={newest}")).len(), 0);
    assert_eq!(types(&fx, &format!("&created[lte]={newest}")).len(), 6);
    assert_eq!(
        types(&fx, &format!("&created[lt]={}", newest - 100)).len(),
        0
    );

    let ids: Vec<String> = evs
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    let page = fx.get(&format!("events?limit=2&starting_after={}", ids[1]));
    assert_eq!(page.ids(), ids[2..4].to_vec());
    assert!(page.has_more());
    let page = fx.get(&format!("events?limit=2&ending_before={}", ids[4]));
    assert_eq!(page.ids(), ids[2..4].to_vec());
    assert!(page.has_more());
    let page = fx.get(&format!(
        "events?limit=5&ending_before={}&type=product.*",
        ids[5]
    ));
    assert_eq!(
        page.ids(),
        vec![ids[0].clone(), ids[1].clone(), ids[4].clone()]
    );
    assert!(!page.has_more());
}

#[test]
fn list_is_strict() {
    let fx = start(Catalog::Empty);
    history(&fx);
    let r = fx.get("events?type=a.b&types[]=a.b");
    assert_eq!(r.status, 400);
    assert_eq!(r.err_param(), "types");
    let many: String = (0..21).map(|i| format!("&types[]=t.{i}")).collect();
    let r = fx.get(&format!("events?limit=1{many}"));
    assert_eq!(r.status, 400, "{:?}", r.body);
    assert!(
        r.err_message().contains("at most 20"),
        "{}",
        r.err_message()
    );
    let twenty: String = (0..20).map(|i| format!("&types[]=t.{i}")).collect();
    assert_eq!(fx.get(&format!("events?limit=1{twenty}")).status, 200);
    for (q, param) in [
        ("events?object=event", "object"),
        ("events?delivery_success=yes", "delivery_success"),
        ("events?limit=101", "limit"),
        ("events?created[after]=1", "created[after]"),
        ("events?starting_after=evt_nope", "starting_after"),
    ] {
        let r = fx.get(q);
        assert_eq!(r.status, 400, "{q}");
        assert_eq!(r.err_param(), param, "{q}");
    }
    assert_eq!(fx.post("events", &[]).status, 404);
    assert_eq!(fx.delete("events/evt_x").status, 404);
}

#[test]
fn retrieve_by_id() {
    let fx = start(Catalog::Empty);
    history(&fx);
    let listed = fx.get("events?limit=1").data()[0].clone();
    let id = listed["id"].as_str().unwrap();
    let r = fx.get(&format!("events/{id}"));
    assert_eq!(r.status, 200);
    assert_eq!(r.body, listed);
    let r = fx.get("events/evt_missing");
    assert_eq!(r.status, 404);
    assert_eq!(r.body["error"]["code"], "resource_missing");
    assert_eq!(r.err_message(), "No such event: 'evt_missing'");
    assert_eq!(fx.get(&format!("events/{id}?foo=1")).status, 400);
}

#[test]
fn events_older_than_30_days_are_neither_listed_nor_retrievable() {
    let fx = start(Catalog::Empty);
    history(&fx);
    let old: Vec<String> = fx.get("events?limit=100").ids();
    let r = fx.control("POST", "/__events/age", Some(json!({"seconds": 29 * DAY})));
    assert_eq!(r.body, json!({"ok": true, "events": 6}));
    assert_eq!(types(&fx, "").len(), 6, "29 days old: still kept");
    fx.post("products", &[("name", "fresh")]);
    assert_eq!(
        types(&fx, "")[0],
        "product.created",
        "new events are newest"
    );
    fx.server.age_events(2 * DAY);
    let listed = fx.get("events?limit=100").ids();
    assert_eq!(
        listed.len(),
        1,
        "only the product created after the first aging"
    );
    assert!(!old.contains(&listed[0]));
    for id in &old {
        let r = fx.get(&format!("events/{id}"));
        assert_eq!(r.status, 404, "{id}");
        assert_eq!(r.body["error"]["code"], "resource_missing");
    }
    assert!(types(&fx, "&created[lte]=2000000000&type=product.*").len() == 1);
    assert_eq!(fx.server.events().len(), 7, "the fake still holds them");
    let r = fx.control("POST", "/__events/age", Some(json!({"seconds": -5})));
    assert_eq!(r.status, 400);
    assert_eq!(
        fx.control("POST", "/__events/age", Some(json!({"secs": 5})))
            .status,
        400
    );
    fx.control("POST", "/__reset", None);
    assert!(fx.server.events().is_empty(), "reset clears events");
}
