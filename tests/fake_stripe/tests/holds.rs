//! Holds over real HTTP: park a request between computing its answer and sending it (or before the
//! store is read), count, release, clear and reset, with the rest of the server still serving.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{start, Fx};
use fake_stripe::{Catalog, HoldRule, HoldWhen, DEFAULT_API_KEY};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(5);

fn demo() -> Fx {
    start(Catalog::Demo)
}

fn product_names(r: &common::Resp) -> Vec<String> {
    r.data()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn held_after_answers_the_state_it_captured_before_a_change() {
    let fx = demo();
    fx.server.hold(HoldRule {
        path_prefix: Some("/v1/products".into()),
        method: Some("GET".into()),
        count: Some(1),
        ..Default::default()
    });
    std::thread::scope(|s| {
        let reader = s.spawn(|| fx.get("products?limit=100"));
        assert!(fx.server.wait_held(1, WAIT), "the reader never parked");
        // The writer is served while the reader is parked (the rule's one firing is spent).
        let created = fx.post("products", &[("name", "Written meanwhile")]);
        assert_eq!(created.status, 200, "{:?}", created.body);
        assert!(!reader.is_finished());
        assert_eq!(fx.server.release(None), 1);
        let read = reader.join().unwrap();
        assert_eq!(read.status, 200);
        assert_eq!(read.data().len(), 4, "state as of before the write");
        assert!(!product_names(&read).contains(&"Written meanwhile".to_string()));
    });
    assert_eq!(fx.get("products?limit=100").data().len(), 5);
    assert_eq!(fx.server.held(), 0);
    // A held request is logged when it completes: after the write it was parked across.
    let log: Vec<(String, String)> = fx
        .server
        .log()
        .into_iter()
        .map(|e| (e.method, e.path))
        .collect();
    let entry = |m: &str| (m.to_string(), "/v1/products".to_string());
    assert_eq!(log, vec![entry("POST"), entry("GET"), entry("GET")]);
}

#[test]
fn held_before_reads_the_store_after_the_change() {
    let fx = demo();
    let r = fx.control(
        "POST",
        "/__holds",
        Some(json!({"path_prefix": "/v1/products", "method": "GET", "count": 1, "when": "before"})),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        r.body,
        json!({"path_prefix": "/v1/products", "method": "GET", "count": 1, "when": "before"})
    );
    std::thread::scope(|s| {
        let reader = s.spawn(|| fx.get("products?limit=100"));
        assert!(fx.server.wait_held(1, WAIT));
        fx.server.create_product("Written meanwhile").unwrap();
        let r = fx.control("POST", "/__holds/release", None);
        assert_eq!(r.body, json!({"released": 1}));
        let read = reader.join().unwrap();
        assert_eq!(read.data().len(), 5, "the store was read after the write");
        assert!(product_names(&read).contains(&"Written meanwhile".to_string()));
    });
}

#[test]
fn get_holds_counts_parked_requests_and_release_takes_the_oldest_by_count() {
    let fx = demo();
    fx.control(
        "POST",
        "/__holds",
        Some(json!({"path_prefix": "/v1/prices"})),
    );
    let r = fx.control("GET", "/__holds", None);
    assert_eq!(
        r.body,
        json!({"waiting": 0, "rules": [{"path_prefix": "/v1/prices", "method": null, "count": null, "when": "after"}]})
    );
    let (done_tx, done) = mpsc::channel();
    std::thread::scope(|s| {
        for i in 0..3 {
            let done_tx = done_tx.clone();
            let fx = &fx;
            // Park them one at a time so "oldest" is known.
            s.spawn(move || {
                let r = fx.get(&format!("prices?limit={}", i + 1));
                done_tx.send((i, r.status, r.data().len())).unwrap();
            });
            assert!(fx.server.wait_held(i + 1, WAIT));
        }
        assert_eq!(fx.control("GET", "/__holds", None).body["waiting"], 3);
        // Unmatched requests are not held.
        assert_eq!(fx.get("products").status, 200);

        let r = fx.control("POST", "/__holds/release", Some(json!({"count": 1})));
        assert_eq!(r.body, json!({"released": 1}));
        assert_eq!(done.recv_timeout(WAIT).unwrap(), (0, 200, 1), "the oldest");
        assert!(done.recv_timeout(Duration::from_millis(200)).is_err());
        assert_eq!(fx.server.held(), 2);

        assert_eq!(fx.server.release(Some(5)), 2, "only two were parked");
        let mut rest: Vec<_> = (0..2).map(|_| done.recv_timeout(WAIT).unwrap()).collect();
        rest.sort();
        assert_eq!(rest, vec![(1, 200, 2), (2, 200, 3)]);
    });
    // The rule stays installed: the next price request parks too.
    std::thread::scope(|s| {
        let again = s.spawn(|| fx.get("prices").status);
        assert!(fx.server.wait_held(1, WAIT));
        assert_eq!(fx.control("GET", "/__holds", None).body["waiting"], 1);
        assert_eq!(fx.server.release(None), 1);
        assert_eq!(again.join().unwrap(), 200);
    });
    assert_eq!(
        fx.control("POST", "/__holds/release", Some(json!({}))).body,
        json!({"released": 0})
    );
}

#[test]
fn delete_releases_everything_and_removes_the_rules() {
    let fx = demo();
    // An empty body holds every /v1 request.
    assert_eq!(fx.control("POST", "/__holds", None).status, 200);
    std::thread::scope(|s| {
        let a = s.spawn(|| fx.get("products").status);
        let b = s.spawn(|| fx.get("prices").status);
        assert!(fx.server.wait_held(2, WAIT));
        let r = fx.control("DELETE", "/__holds", None);
        assert_eq!(r.body, json!({"ok": true, "released": 2}));
        assert_eq!((a.join().unwrap(), b.join().unwrap()), (200, 200));
    });
    assert_eq!(
        fx.control("GET", "/__holds", None).body,
        json!({"waiting": 0, "rules": []})
    );
    assert_eq!(fx.get("products").status, 200, "no longer held");
}

#[test]
fn other_requests_and_controls_are_served_while_one_is_parked() {
    let fx = demo();
    fx.server.hold(HoldRule {
        path_prefix: Some("/v1/products".into()),
        count: Some(1),
        ..Default::default()
    });
    std::thread::scope(|s| {
        let parked = s.spawn(|| fx.get("products").status);
        assert!(fx.server.wait_held(1, WAIT));
        let t = Instant::now();
        assert_eq!(fx.get("prices").status, 200);
        assert_eq!(fx.get("products").status, 200, "the rule's count is spent");
        assert_eq!(fx.control("GET", "/__log", None).status, 200);
        assert_eq!(fx.control("GET", "/__faults", None).status, 200);
        assert_eq!(fx.control("GET", "/__holds", None).body["waiting"], 1);
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        assert!(!parked.is_finished());
        assert_eq!(fx.server.release(None), 1);
        assert_eq!(parked.join().unwrap(), 200);
    });
}

#[test]
fn reset_releases_parked_requests_and_clears_the_rules() {
    let fx = demo();
    fx.server.hold(HoldRule::default());
    std::thread::scope(|s| {
        let parked = s.spawn(|| fx.get("products?limit=100"));
        assert!(fx.server.wait_held(1, WAIT));
        let r = fx.control("POST", "/__reset", Some(json!({"catalog": "empty"})));
        assert_eq!(r.status, 200, "{:?}", r.body);
        let read = parked.join().unwrap();
        assert_eq!(read.status, 200);
        assert_eq!(read.data().len(), 4, "computed before the reset");
    });
    assert_eq!(
        fx.control("GET", "/__holds", None).body,
        json!({"waiting": 0, "rules": []})
    );
    assert_eq!(fx.get("products").data().len(), 0, "not held any more");
    // The library reset does the same.
    fx.server.hold(HoldRule::default());
    std::thread::scope(|s| {
        let parked = s.spawn(|| fx.get("products").status);
        assert!(fx.server.wait_held(1, WAIT));
        fx.server.reset(&Catalog::Demo).unwrap();
        assert_eq!(parked.join().unwrap(), 200);
    });
    assert_eq!(fx.server.held(), 0);
    assert_eq!(fx.get("products").status, 200);
}

#[test]
fn a_parked_request_whose_client_left_is_freed_by_release() {
    let fx = demo();
    fx.server.hold(HoldRule {
        count: Some(1),
        ..Default::default()
    });
    let impatient = reqwest::blocking::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let r = impatient
        .get(fx.server.base_url() + "/products")
        .bearer_auth(DEFAULT_API_KEY)
        .send();
    assert!(r.is_err(), "the client gave up while parked");
    assert_eq!(fx.server.held(), 1, "still parked until released");
    assert_eq!(fx.server.release(None), 1);
    assert_eq!(fx.server.held(), 0);
    // It completes (the answer goes nowhere) and is logged; the server carries on.
    let deadline = Instant::now() + WAIT;
    while fx.server.log().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(fx.server.log().len(), 1);
    assert_eq!(fx.get("products").status, 200);
}

#[test]
fn holds_come_after_latency_and_keep_faults() {
    let fx = demo();
    fx.faults(json!({"latency_ms": 600, "rules": [{"kind": "status", "status": 503, "count": 1}]}));
    fx.server.hold(HoldRule {
        count: Some(1),
        when: HoldWhen::After,
        ..Default::default()
    });
    std::thread::scope(|s| {
        let t = Instant::now();
        let parked = s.spawn(|| fx.get("products"));
        std::thread::sleep(Duration::from_millis(150));
        assert_eq!(fx.server.held(), 0, "still in its latency");
        assert!(fx.server.wait_held(1, WAIT));
        assert!(t.elapsed() >= Duration::from_millis(600));
        assert_eq!(fx.server.release(None), 1);
        let r = parked.join().unwrap();
        assert_eq!(r.status, 503, "the fault still fired");
    });
    assert_eq!(fx.server.log()[0].fault.as_deref(), Some("status"));
}

#[test]
fn bad_hold_bodies_are_rejected() {
    let fx = demo();
    for body in [
        json!({"path": "/v1/products"}),
        json!({"when": "during"}),
        json!({"count": -1}),
    ] {
        let r = fx.control("POST", "/__holds", Some(body.clone()));
        assert_eq!(r.status, 400, "{body}: {:?}", r.body);
    }
    let r = fx.control("POST", "/__holds/release", Some(json!({"all": true})));
    assert_eq!(r.status, 400);
    assert_eq!(
        fx.control("GET", "/__holds", None).body,
        json!({"waiting": 0, "rules": []})
    );
    assert!(!fx.server.wait_held(1, Duration::from_millis(50)));
}
