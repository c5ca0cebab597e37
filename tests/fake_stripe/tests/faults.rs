//! Fault injection over real HTTP: status, drop, malformed, truncated, hang, oversize, echo_key,
//! latency (also on concurrent requests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::start;
use fake_stripe::{Catalog, DEFAULT_API_KEY};
use serde_json::json;

fn demo() -> common::Fx {
    start(Catalog::Demo)
}

#[test]
fn status_429_with_and_without_should_retry() {
    let fx = demo();
    fx.faults(json!({"rules":[
        {"kind":"status","status":429,"should_retry":true,"retry_after":3,"count":1},
        {"kind":"status","status":429,"should_retry":null,"count":1}
    ]}));
    let r = fx.get("products");
    assert_eq!(r.status, 429);
    assert_eq!(r.header("stripe-should-retry").as_deref(), Some("true"));
    assert_eq!(r.header("retry-after").as_deref(), Some("3"));
    assert_eq!(r.body["error"]["type"], "rate_limit_error");
    assert_eq!(r.body["error"]["code"], "rate_limit");
    let r = fx.get("products");
    assert_eq!(r.status, 429);
    assert_eq!(r.header("stripe-should-retry"), None);
    assert_eq!(r.header("retry-after"), None);
    assert_eq!(fx.get("products").status, 200);
}

#[test]
fn status_500_with_should_retry_false() {
    let fx = demo();
    fx.faults(json!({"rules":[{"kind":"status","status":500,"should_retry":false}]}));
    for _ in 0..3 {
        let r = fx.get("prices");
        assert_eq!(r.status, 500);
        assert_eq!(r.header("stripe-should-retry").as_deref(), Some("false"));
        assert_eq!(r.body["error"]["type"], "api_error");
        assert!(r.header("request-id").is_some());
    }
    let r = fx.control("DELETE", "/__faults", None);
    assert_eq!(r.status, 200);
    assert_eq!(fx.get("prices").status, 200);
}

#[test]
fn after_count_and_path_prefix() {
    let fx = demo();
    fx.faults(json!({"rules":[{"kind":"status","status":503,"after":2,"count":2,"path_prefix":"/v1/prices"}]}));
    assert_eq!(fx.get("products").status, 200); // other path: neither counted nor faulted
    let got: Vec<u16> = (0..6).map(|_| fx.get("prices").status).collect();
    assert_eq!(got, vec![200, 200, 503, 503, 200, 200]);
    let log = fx.server.log();
    let faulted: Vec<bool> = log.iter().map(|e| e.fault.is_some()).collect();
    assert_eq!(faulted, vec![false, false, false, true, true, false, false]);
}

#[test]
fn drop_closes_without_response() {
    let fx = demo();
    fx.faults(json!({"rules":[{"kind":"drop","count":1}]}));
    let err = fx.raw_get("/products");
    assert!(err.is_err(), "expected a connection error");
    assert_eq!(fx.get("products").status, 200);
    assert_eq!(fx.server.log()[0].status, 0);
    assert_eq!(fx.server.log()[0].fault.as_deref(), Some("drop"));
}

#[test]
fn malformed_is_200_not_json() {
    let fx = demo();
    fx.faults(json!({"rules":[{"kind":"malformed"}]}));
    let r = fx.raw_get("/products").unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let text = r.text().unwrap();
    assert!(serde_json::from_str::<serde_json::Value>(&text).is_err());
}

#[test]
fn truncated_body_is_an_error_for_the_client() {
    let fx = demo();
    fx.faults(json!({"rules":[{"kind":"truncated"}]}));
    let r = fx.raw_get("/products?limit=100").unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let declared = r.content_length().unwrap();
    match r.bytes() {
        Err(_) => {}
        Ok(b) => {
            assert!((b.len() as u64) < declared);
            assert!(serde_json::from_slice::<serde_json::Value>(&b).is_err());
        }
    }
}

#[test]
fn hang_never_answers_but_others_are_served() {
    let fx = demo();
    fx.faults(json!({"rules":[{"kind":"hang","count":1}]}));
    let url = fx.server.base_url() + "/products";
    let hung = std::thread::spawn(move || {
        let c = reqwest::blocking::Client::builder()
            .timeout(Duration::from_millis(1500))
            .build()
            .unwrap();
        let t = Instant::now();
        let r = c.get(url).bearer_auth(DEFAULT_API_KEY).send();
        (r.is_err(), t.elapsed())
    });
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    assert_eq!(fx.get("products").status, 200);
    assert!(
        t.elapsed() < Duration::from_millis(1000),
        "second request blocked"
    );
    let (errored, waited) = hung.join().unwrap();
    assert!(errored, "hang must not answer");
    assert!(waited >= Duration::from_millis(1400));
}

#[test]
fn oversize_is_valid_and_huge() {
    let fx = demo();
    fx.faults(json!({"rules":[{"kind":"oversize","count":1}]}));
    let r = fx.raw_get("/products").unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let b = r.bytes().unwrap();
    assert!(b.len() >= 20 * 1024 * 1024, "{}", b.len());
    let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(v["object"], "list");
    assert!(v["data"].as_array().unwrap().len() > 1);
}

#[test]
fn latency_delays_api_but_not_controls() {
    let fx = demo();
    fx.faults(json!({"latency_ms": 300, "rules": []}));
    let t = Instant::now();
    assert_eq!(fx.get("products").status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    let t = Instant::now();
    fx.control("GET", "/__log", None);
    assert!(t.elapsed() < Duration::from_millis(250));
    fx.control("DELETE", "/__faults", None);
    let t = Instant::now();
    fx.get("products");
    assert!(t.elapsed() < Duration::from_millis(250));
}

#[test]
fn latency_applies_to_each_concurrent_request_on_its_own() {
    let fx = demo();
    fx.faults(json!({"latency_ms": 300, "rules": []}));
    let n = 8;
    let t = Instant::now();
    std::thread::scope(|s| {
        let all: Vec<_> = (0..n)
            .map(|_| s.spawn(|| fx.get("products?limit=1").status))
            .collect();
        for h in all {
            assert_eq!(h.join().unwrap(), 200);
        }
    });
    let took = t.elapsed();
    assert!(took >= Duration::from_millis(300));
    // Served one after another they would take n * 300 ms.
    assert!(took < Duration::from_millis(n * 300 / 2), "{took:?}");
    assert_eq!(fx.server.log().len() as u64, n);
}

#[test]
fn echo_key_leaks_the_authorization_header_into_every_error_field() {
    let fx = demo();
    fx.faults(json!({"rules":[{"kind":"echo_key","count":1}, {"kind":"echo_key","status":200}]}));
    let r = fx.get("products");
    assert_eq!(r.status, 400);
    let sent = format!("Bearer {DEFAULT_API_KEY}");
    for field in ["type", "code", "param", "message", "doc_url"] {
        assert_eq!(r.body["error"][field], sent.as_str(), "{field}");
    }
    assert_eq!(r.header("request-id"), Some(sent.clone()));
    let r = fx.get("products");
    assert_eq!(r.status, 200);
    assert_eq!(r.body["object"], sent.as_str());
}

#[test]
fn faults_do_not_touch_controls_and_bad_config_is_rejected() {
    let fx = demo();
    fx.faults(json!({"rules":[{"kind":"drop"}]}));
    assert_eq!(fx.control("GET", "/__log", None).status, 200);
    assert_eq!(
        fx.control("GET", "/__faults", None).body["rules"][0]["kind"],
        "drop"
    );
    let r = fx.control(
        "POST",
        "/__faults",
        Some(json!({"rules":[{"kind":"explode"}]})),
    );
    assert_eq!(r.status, 400);
    let r = fx.control("POST", "/__faults", Some(json!({"rulez":[]})));
    assert_eq!(r.status, 400);
}
