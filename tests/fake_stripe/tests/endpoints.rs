//! Webhook endpoints and the account: create answers the secret once, list pages like every list,
//! retrieve and delete, strict parameters, Stripe's shapes; deliveries to an endpoint are signed
//! with the secret issued for it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::start;
use fake_stripe::Catalog;
use serde_json::Value;
use stripe_fdw_core::webhook::verify;

fn testdata() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/webhook_endpoints.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

#[test]
fn create_answers_stripes_shape_and_the_secret_only_once() {
    let fx = start(Catalog::Empty);
    let r = fx.post(
        "webhook_endpoints",
        &[
            ("url", "https://example.com/hook"),
            ("enabled_events[]", "product.updated"),
            ("enabled_events[]", "price.*"),
            ("metadata[database]", "app"),
            ("api_version", "2026-10-28.endive"),
        ],
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    let secret = r.body["secret"].as_str().unwrap().to_string();
    assert!(
        secret.starts_with("whsec_") && secret.len() > 20,
        "{secret}"
    );
    let id = r.body["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("we_"));
    assert_eq!(
        r.body["enabled_events"],
        serde_json::json!(["product.updated", "price.*"])
    );
    assert_eq!(r.body["metadata"]["database"], "app");
    assert_eq!(r.body["status"], "enabled");
    assert_eq!(r.body["api_version"], "2026-10-28.endive");

    // Retrieve and list: the fixture's fields exactly, never the secret.
    let data = testdata();
    let fixture = &data["webhook_endpoint_fixture"];
    let got = fx.get(&format!("webhook_endpoints/{id}"));
    assert_eq!(got.status, 200);
    assert_eq!(keys(&got.body), keys(fixture));
    for required in data["webhook_endpoint_required"].as_array().unwrap() {
        assert!(
            got.body.get(required.as_str().unwrap()).is_some(),
            "{required}"
        );
    }
    let listed = fx.all("webhook_endpoints", "");
    assert_eq!(listed.len(), 1);
    assert_eq!(keys(&listed[0]), keys(fixture));
    assert!(!got.body.to_string().contains(&secret));
    assert!(!listed[0].to_string().contains(&secret));
    assert_eq!(
        fx.server.endpoint_secret(&id).as_deref(),
        Some(secret.as_str())
    );

    let del = fx.delete(&format!("webhook_endpoints/{id}"));
    assert_eq!(del.status, 200);
    assert_eq!(del.body["deleted"], true);
    assert_eq!(fx.get(&format!("webhook_endpoints/{id}")).status, 404);
    assert_eq!(fx.delete(&format!("webhook_endpoints/{id}")).status, 404);
}

#[test]
fn create_is_strict() {
    let fx = start(Catalog::Empty);
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("enabled_events[]", "product.updated")], "url"),
        (&[("url", "https://example.com/h")], "enabled_events"),
        (
            &[
                ("url", "not a url"),
                ("enabled_events[]", "product.updated"),
            ],
            "url",
        ),
        (
            &[
                ("url", "https://example.com/h"),
                ("enabled_events[]", "Product Updated"),
            ],
            "enabled_events",
        ),
        (
            &[
                ("url", "https://example.com/h"),
                ("enabled_events[]", "product.updated"),
                ("colour", "red"),
            ],
            "colour",
        ),
    ];
    for (form, param) in cases {
        let r = fx.post("webhook_endpoints", form);
        assert_eq!(r.status, 400, "{form:?}: {:?}", r.body);
        assert_eq!(r.err_param(), *param, "{form:?}: {:?}", r.body);
    }
    assert!(fx.all("webhook_endpoints", "").is_empty(), "nothing made");
}

#[test]
fn list_pages_newest_first_and_the_account_has_sixteen_at_most() {
    let fx = start(Catalog::Empty);
    let mut made = Vec::new();
    for i in 0..16 {
        let r = fx.post(
            "webhook_endpoints",
            &[
                ("url", &format!("https://example.com/{i}")),
                ("enabled_events[]", "*"),
            ],
        );
        assert_eq!(r.status, 200, "{:?}", r.body);
        made.push(r.body["id"].as_str().unwrap().to_string());
    }
    let r = fx.post(
        "webhook_endpoints",
        &[("url", "https://example.com/17"), ("enabled_events[]", "*")],
    );
    assert_eq!(r.status, 400);
    assert!(r.err_message().contains("maximum of 16"), "{:?}", r.body);
    let page = fx.get("webhook_endpoints?limit=5");
    assert_eq!(page.data().len(), 5);
    assert!(page.has_more());
    made.reverse();
    assert_eq!(common::ids(&fx.all("webhook_endpoints", "")), made);
}

#[test]
fn the_account_is_the_keys_own() {
    let fx = start(Catalog::Empty);
    let r = fx.get("account");
    assert_eq!(r.status, 200);
    assert_eq!(r.body["object"], "account");
    assert_eq!(r.body["id"], fake_stripe::ACCOUNT_ID);
    for required in testdata()["account_required"].as_array().unwrap() {
        assert!(
            r.body.get(required.as_str().unwrap()).is_some(),
            "{required}"
        );
    }
    assert_eq!(fx.get("account?colour=red").status, 400);
}

#[test]
fn a_delivery_to_an_endpoint_is_signed_with_its_secret() {
    let fx = start(Catalog::Empty);
    let made = fx.post(
        "webhook_endpoints",
        &[
            ("url", "https://example.com/hook"),
            ("enabled_events[]", "product.created"),
        ],
    );
    let id = made.body["id"].as_str().unwrap().to_string();
    let secret = made.body["secret"].as_str().unwrap().to_string();
    let product = fx.post("products", &[("name", "Hooked")]);
    assert_eq!(product.status, 200);
    let evt = fx.server.events()[0]["id"].as_str().unwrap().to_string();
    let (payload, header) = fx.server.webhook_to(&evt, &id).expect("signed");
    let now = fake_stripe::ids::now_unix();
    assert!(verify(payload.as_bytes(), Some(&header), &secret, now, 300).is_ok());
    assert!(verify(payload.as_bytes(), Some(&header), "whsec_other", now, 300).is_err());

    // Stripe sends an endpoint only the events it subscribed to.
    let update = fx.post(
        &format!("products/{}", product.body["id"].as_str().unwrap()),
        &[("name", "Renamed")],
    );
    assert_eq!(update.status, 200);
    let evt = fx.server.events()[0]["id"].as_str().unwrap().to_string();
    let e = fx.server.webhook_to(&evt, &id).expect_err("not subscribed");
    assert!(e.contains("not subscribed"), "{e}");
    assert!(fx.server.webhook_to(&evt, "we_missing").is_err());
}
