//! The API key never leaves the client in an error, whatever field a server echoes it in (issue 9,
//! item 8).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{client, fake};
use fake_stripe::{FaultConfig, FaultKind, FaultRule, DEFAULT_API_KEY};
use std::time::Duration;
use stripe_fdw_core::client::Transport;
use stripe_fdw_core::StripeError;

fn echo(status: u16) -> FaultConfig {
    FaultConfig {
        latency_ms: 0,
        rules: vec![FaultRule {
            kind: FaultKind::EchoKey,
            status: Some(status),
            should_retry: None,
            retry_after: None,
            after: 0,
            count: None,
            path_prefix: None,
            method: None,
            size_bytes: None,
        }],
    }
}

fn assert_no_key(e: &StripeError) {
    let shown = format!("{e} | {e:?}");
    // The fake's key is sk_test_fake_key: neither it nor its secret part may show.
    assert!(!shown.contains("fake_key"), "the key leaked: {shown}");
}

#[test]
fn a_key_echoed_in_every_field_of_an_error_is_scrubbed_from_all() {
    let f = fake(10, 0);
    let t = Transport::new(Duration::from_secs(5)).unwrap();
    let c = client(&t, &f);
    f.set_faults(echo(400));
    let e = c.list_page("products", &[], &|| false).unwrap_err();
    let StripeError::Api {
        error, request_id, ..
    } = &e
    else {
        panic!("an API error: {e:?}")
    };
    // Every field was sent (so each one was scrubbed, not dropped).
    for field in [
        &error.error_type,
        &error.code,
        &error.param,
        &error.message,
        &error.doc_url,
        request_id,
    ] {
        assert_eq!(field.as_deref(), Some("Bearer [redacted]"), "{e:?}");
    }
    assert_no_key(&e);
    assert_no_key(&c.retrieve("products", "prod_x", &|| false).unwrap_err());
    let mut s = common::scan(&c, "products", &common::planned("products", &[]), 4);
    assert_no_key(&s.next_page(&|| false).unwrap_err());
}

#[test]
fn a_key_echoed_in_a_body_that_is_not_a_list_is_scrubbed() {
    let f = fake(10, 0);
    let t = Transport::new(Duration::from_secs(5)).unwrap();
    let c = client(&t, &f);
    f.set_faults(echo(200));
    let e = c.list_page("products", &[], &|| false).unwrap_err();
    assert!(matches!(e, StripeError::BadBody { .. }), "{e:?}");
    assert_no_key(&e);
    assert!(DEFAULT_API_KEY.contains("fake_key"));
}
