//! The client under faults: retries, Stripe's retry headers, timeouts, cancel, bad bodies, and the
//! backend survives every one of them (the postmaster never restarts).

use e2e::*;
use std::time::{Duration, Instant};

fn faults(env: &Env, latency_ms: u64, rules: Vec<FaultRule>) {
    env.fake.set_faults(FaultConfig { latency_ms, rules });
}

fn status(code: u16, should_retry: Option<bool>, count: Option<u64>) -> FaultRule {
    FaultRule {
        status: Some(code),
        should_retry,
        count,
        ..rule(FaultKind::Status)
    }
}

/// Run `check` and assert the backend survived it and the session still works.
fn survives(env: &mut Env, check: impl FnOnce(&mut Env)) {
    let before = env.postmaster_start();
    check(env);
    env.fake.clear_faults();
    assert_eq!(
        env.postmaster_start(),
        before,
        "the postmaster restarted: a backend crashed"
    );
    assert_eq!(
        env.query("select 1").len(),
        1,
        "the session is still usable"
    );
}

#[test]
fn rate_limited_twice_then_success_returns_every_row() {
    // One page at a time: the request count below is the sequential page walk's.
    let mut env = Env::with(generated(150, 1), "max_concurrency '1'", DEFAULT_API_KEY);
    survives(&mut env, |env| {
        faults(env, 0, vec![status(429, None, Some(2))]);
        assert_eq!(env.query("select id from {s}.products").len(), 150);
        let log = env.take_log();
        assert_eq!(log.len(), 4, "2 pages + 2 retries: {log:?}");
        assert_eq!(log.iter().filter(|e| e.status == 429).count(), 2);
    });
}

#[test]
fn should_retry_false_stops_at_once() {
    let mut env = Env::new(Catalog::Demo);
    survives(&mut env, |env| {
        faults(env, 0, vec![status(429, Some(false), None)]);
        let e = env.error("select * from {s}.products");
        assert_eq!(env.take_log().len(), 1, "no retry");
        assert_eq!(e.code, "HV000", "{e:?}");
        assert!(e.detail.unwrap_or_default().contains("HTTP status 429"));
    });
}

#[test]
fn server_errors_forever_fail_after_max_retries_plus_one_requests() {
    let mut env = Env::with(Catalog::Demo, "max_retries '2'", DEFAULT_API_KEY);
    survives(&mut env, |env| {
        faults(env, 0, vec![status(500, None, None)]);
        let e = env.error("select * from {s}.prices");
        assert_eq!(env.take_log().len(), 3);
        assert!(
            e.detail.clone().unwrap_or_default().contains("3 attempts"),
            "{e:?}"
        );
        assert!(
            e.hint.clone().unwrap_or_default().contains("max_retries"),
            "{e:?}"
        );
    });
}

#[test]
fn a_dropped_connection_mid_scan_is_retried_and_no_row_is_lost() {
    let mut env = Env::with(generated(250, 1), "max_concurrency '1'", DEFAULT_API_KEY);
    survives(&mut env, |env| {
        faults(
            env,
            0,
            vec![FaultRule {
                after: 1,
                count: Some(1),
                ..rule(FaultKind::Drop)
            }],
        );
        let ids = env.strings("select id from {s}.products");
        assert_eq!(ids.len(), 250);
        assert_eq!(
            ids.iter().collect::<std::collections::HashSet<_>>().len(),
            250
        );
        let log = env.take_log();
        assert_eq!(log.len(), 4, "3 pages + 1 retry: {log:?}");
    });
}

#[test]
fn malformed_and_truncated_bodies_are_errors_not_short_results() {
    let mut env = Env::with(Catalog::Demo, "max_retries '1'", DEFAULT_API_KEY);
    survives(&mut env, |env| {
        faults(env, 0, vec![rule(FaultKind::Malformed)]);
        let e = env.error("select * from {s}.products");
        assert_eq!(e.code, "HV000", "{e:?}");
        assert!(e.message.contains("cannot read"), "{e:?}");
        faults(env, 0, vec![rule(FaultKind::Truncated)]);
        let e = env.error("select * from {s}.products");
        assert!(e.code == "HV00N" || e.code == "HV000", "{e:?}");
    });
}

#[test]
fn a_response_over_max_response_size_is_an_error() {
    let mut env = Env::with(Catalog::Demo, "max_response_size '1MB'", DEFAULT_API_KEY);
    survives(&mut env, |env| {
        faults(
            env,
            0,
            vec![FaultRule {
                size_bytes: Some(3 << 20),
                ..rule(FaultKind::Oversize)
            }],
        );
        let e = env.error("select * from {s}.products");
        assert!(e.message.contains("max_response_size"), "{e:?}");
    });
}

#[test]
fn request_timeout_is_an_error_naming_it() {
    let mut env = Env::with(
        Catalog::Demo,
        "request_timeout '1s', max_retries '0'",
        DEFAULT_API_KEY,
    );
    survives(&mut env, |env| {
        faults(env, 0, vec![rule(FaultKind::Hang)]);
        let e = env.error("select * from {s}.products");
        assert_eq!(e.code, "HV00N", "{e:?}");
        assert!(e.message.contains("request_timeout (1s)"), "{e:?}");
    });
}

#[test]
fn statement_timeout_cancels_a_hung_request_and_the_session_goes_on() {
    let mut env = Env::new(Catalog::Demo);
    survives(&mut env, |env| {
        faults(env, 0, vec![rule(FaultKind::Hang)]);
        env.exec("set statement_timeout = '2s'");
        let t = Instant::now();
        let e = env.error("select * from {s}.products");
        let took = t.elapsed();
        assert_eq!(e.code, "57014", "{e:?}");
        assert!(e.message.contains("statement timeout"), "{e:?}");
        // Functional bound, generous for a loaded machine: cancel must not wait for request_timeout (30 s).
        assert!(took < Duration::from_secs(6), "took {took:?}");
        env.exec("reset statement_timeout");
        env.fake.clear_faults();
        assert!(!env.query("select * from {s}.products").is_empty());
    });
}

#[test]
fn pg_cancel_backend_stops_a_waiting_query() {
    let mut env = Env::new(Catalog::Demo);
    survives(&mut env, |env| {
        faults(env, 0, vec![rule(FaultKind::Hang)]);
        let pid: i32 = env.query("select pg_backend_pid()")[0].get(0);
        let canceller = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(700));
            let mut other = connect();
            other
                .query_one("select pg_cancel_backend($1)", &[&pid])
                .map(|r| r.get::<_, bool>(0))
        });
        let e = env.error("select * from {s}.products");
        assert_eq!(e.code, "57014", "{e:?}");
        assert_eq!(canceller.join().ok().and_then(|r| r.ok()), Some(true));
    });
}

#[test]
fn stripe_headers_are_sent() {
    let mut env = Env::with(
        Catalog::Demo,
        "api_version '2025-01-27.acacia', account 'acct_1032D82eZvKYlo2C'",
        DEFAULT_API_KEY,
    );
    env.query("select id from {s}.products");
    let log = env.take_log();
    let h = |name: &str| {
        log[0]
            .headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(h("stripe-version").as_deref(), Some("2025-01-27.acacia"));
    assert_eq!(
        h("stripe-account").as_deref(),
        Some("acct_1032D82eZvKYlo2C")
    );
    assert!(h("user-agent")
        .unwrap_or_default()
        .starts_with("stripe_fdw/"));
}

#[test]
fn no_server_at_api_url_is_a_connection_error() {
    let mut env = Env::with(Catalog::Demo, "max_retries '0'", DEFAULT_API_KEY);
    // A port nobody listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port());
    let port = port.expect("a free port");
    env.exec(&format!(
        "alter server {{server}} options (set api_url 'http://127.0.0.1:{port}/v1')"
    ));
    survives(&mut env, |env| {
        let e = env.error("select * from {s}.products");
        assert_eq!(e.code, "HV00N", "{e:?}");
        assert!(
            e.message.contains("could not talk to Stripe at 127.0.0.1"),
            "{e:?}"
        );
        assert!(e.hint.unwrap_or_default().contains("api_url"));
    });
}

#[test]
fn the_columns_api_version_is_sent_unless_the_account_default_is_asked_for() {
    let version = |env: &mut Env| {
        env.query("select id from {s}.products");
        let log = env.take_log();
        log[0]
            .headers
            .iter()
            .find(|(k, _)| k == "stripe-version")
            .map(|(_, v)| v.clone())
    };
    let mut env = Env::new(Catalog::Demo);
    assert_eq!(version(&mut env).as_deref(), Some("2026-10-28.endive"));
    env.exec("alter server {server} options (add api_version 'account')");
    assert_eq!(version(&mut env), None);
}

/// An error answer whose body cannot be decoded (it says gzip and is not) is still that answer:
/// its status is the error, not a network failure, and it is not retried.
#[test]
fn an_error_answer_with_an_undecodable_body_is_that_status_not_a_connection_failure() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = listener.local_addr().expect("its address").port();
    let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = served.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let body = b"this is not gzip";
            let _ = stream.write_all(
                format!(
                    "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            );
            let _ = stream.write_all(body);
        }
    });
    let mut env = Env::with(Catalog::Demo, "max_retries '2'", DEFAULT_API_KEY);
    env.exec(&format!(
        "alter server {{server}} options (set api_url 'http://127.0.0.1:{port}/v1')"
    ));
    let e = env.error("select count(*) from {s}.customers");
    assert!(e.all_text().contains("400"), "{e:?}");
    assert!(!e.message.contains("could not talk to Stripe"), "{e:?}");
    assert_eq!(
        served.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "a 400 is not retried"
    );
}
