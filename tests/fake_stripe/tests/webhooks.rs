//! Webhook deliveries: the fake signs an event with core's `sign_header` and POSTs it to a URL; the
//! receiver here verifies it with core's `verify` and answers 200, or 400 when it is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use common::{start, Fx};
use fake_stripe::http::{read_request, write_response, Response};
use fake_stripe::Catalog;
use serde_json::{json, Value};
use stripe_fdw_core::webhook::{verify, SignatureError};

const SECRET: &str = "whsec_fake_endpoint_secret";

/// What the receiver saw: (body, Stripe-Signature, Content-Type, verification result).
type Seen = Arc<
    Mutex<
        Vec<(
            String,
            Option<String>,
            Option<String>,
            Result<i64, SignatureError>,
        )>,
    >,
>;

/// An app's webhook route: verifies with SECRET, 200 when accepted, 400 when refused.
fn receiver() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let log = seen.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut buf = Vec::new();
                while let Ok(Some(req)) = read_request(&mut stream, &mut buf).await {
                    let header = req.header("stripe-signature").map(str::to_string);
                    let now = fake_stripe::ids::now_unix();
                    let verdict = verify(&req.body, header.as_deref(), SECRET, now, 300);
                    let status = if verdict.is_ok() { 200 } else { 400 };
                    log.lock().unwrap().push((
                        String::from_utf8(req.body.clone()).unwrap(),
                        header,
                        req.header("content-type").map(str::to_string),
                        verdict,
                    ));
                    let resp = Response::json(status, &json!({"received": status == 200}));
                    if write_response(&mut stream, &resp, req.keep_alive)
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            }
        });
    });
    (format!("http://{addr}/api/stripe/webhook"), seen)
}

fn one_event(fx: &Fx) -> Value {
    fx.post("products", &[("name", "Hooked")]);
    fx.get("events?limit=1").data()[0].clone()
}

#[test]
fn send_webhook_posts_the_signed_event_and_returns_the_status() {
    let fx = start(Catalog::Empty);
    let (url, seen) = receiver();
    let event = one_event(&fx);
    let id = event["id"].as_str().unwrap();

    assert_eq!(fx.server.send_webhook(id, &url, SECRET, None), Ok(200));
    {
        let seen = seen.lock().unwrap();
        let (body, header, ctype, verdict) = &seen[0];
        assert!(verdict.is_ok(), "{verdict:?}");
        assert_eq!(serde_json::from_str::<Value>(body).unwrap(), event);
        assert!(header.as_deref().unwrap().starts_with("t="));
        assert_eq!(ctype.as_deref(), Some("application/json; charset=utf-8"));
    }
    assert_eq!(
        fx.server.send_webhook(id, &url, "whsec_wrong", None),
        Ok(400)
    );
    let old = fake_stripe::ids::now_unix() - 600;
    assert_eq!(fx.server.send_webhook(id, &url, SECRET, Some(old)), Ok(400));
    let seen = seen.lock().unwrap();
    assert_eq!(seen[1].3, Err(SignatureError::NoMatch));
    assert!(matches!(
        seen[2].3,
        Err(SignatureError::Expired { tolerance: 300, .. })
    ));
    assert!(fx
        .server
        .send_webhook("evt_missing", &url, SECRET, None)
        .is_err());
}

#[test]
fn webhook_returns_payload_and_header_without_sending() {
    let fx = start(Catalog::Empty);
    let event = one_event(&fx);
    let id = event["id"].as_str().unwrap();
    let (payload, header) = fx.server.webhook(id, SECRET, Some(1_800_000_000)).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&payload).unwrap(), event);
    assert!(header.starts_with("t=1800000000,v1="));
    assert_eq!(
        verify(
            payload.as_bytes(),
            Some(&header),
            SECRET,
            1_800_000_100,
            300
        ),
        Ok(1_800_000_000)
    );
    assert_eq!(
        verify(
            payload.as_bytes(),
            Some(&header),
            "whsec_other",
            1_800_000_100,
            300
        ),
        Err(SignatureError::NoMatch)
    );
    assert!(fx.server.webhook("evt_missing", SECRET, None).is_none());
    assert!(
        fx.server.log().len() == 2,
        "building a webhook makes no API request"
    );
}

#[test]
fn deliver_control_endpoint_and_delivery_success() {
    let fx = start(Catalog::Empty);
    let (url, seen) = receiver();
    let event = one_event(&fx);
    let id = event["id"].as_str().unwrap();
    let r = fx.control(
        "POST",
        "/__webhooks/deliver",
        Some(json!({"event": id, "url": url, "secret": SECRET})),
    );
    assert_eq!(r.body, json!({"event": id, "url": url, "status": 200}));
    assert!(seen.lock().unwrap()[0].3.is_ok());
    assert_eq!(fx.get("events?delivery_success=false").ids().len(), 0);

    let r = fx.control(
        "POST",
        "/__webhooks/deliver",
        Some(json!({"event": id, "url": url, "secret": "whsec_bad", "timestamp": 5})),
    );
    assert_eq!(r.body["status"], 400);
    assert_eq!(
        fx.get("events?delivery_success=false").ids(),
        vec![id.to_string()]
    );
    assert!(fx.get("events?delivery_success=true").ids().is_empty());

    // Nothing listens on a port just released: status 0 and why.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let r = fx.control(
        "POST",
        "/__webhooks/deliver",
        Some(json!({"event": id, "url": format!("http://{dead}/hook"), "secret": SECRET})),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], 0);
    assert!(r.body["error"]
        .as_str()
        .unwrap()
        .contains("could not deliver"));

    assert_eq!(fx.server.send_webhook(id, &url, SECRET, None), Ok(200));
    assert_eq!(
        fx.get("events?delivery_success=true").ids(),
        vec![id.to_string()]
    );

    let r = fx.control(
        "POST",
        "/__webhooks/deliver",
        Some(json!({"event": "evt_nope", "url": url, "secret": SECRET})),
    );
    assert_eq!(r.status, 404);
    let r = fx.control("POST", "/__webhooks/deliver", Some(json!({"event": id})));
    assert_eq!(r.status, 400);
    assert_eq!(fx.control("GET", "/__webhooks/deliver", None).status, 404);
    assert!(
        fx.server
            .log()
            .iter()
            .all(|e| e.path != "/__webhooks/deliver"),
        "control requests are never logged"
    );
}
