//! Concurrent scans (`max_concurrency`, default 4): every object exactly once whatever the
//! concurrency, with objects created mid-scan and with 429s; a cancel stops the scan promptly.

use e2e::*;
use std::collections::HashSet;
use std::time::Instant;

fn ids(env: &mut Env, table: &str) -> Vec<String> {
    let mut v = env.strings(&format!("select id from {{s}}.{table}"));
    v.sort();
    v
}

#[test]
fn every_object_once_at_every_concurrency() {
    let mut env = Env::with(generated(1200, 1), "max_concurrency '1'", DEFAULT_API_KEY);
    let sequential = ids(&mut env, "products");
    assert_eq!(sequential.len(), 1200);
    for n in ["4", "8", "16"] {
        env.exec(&format!(
            "alter server {{server}} options (set max_concurrency '{n}')"
        ));
        env.take_log();
        let got = ids(&mut env, "products");
        let log = env.take_log();
        assert_eq!(got, sequential, "max_concurrency {n}");
        assert!(log.len() >= 12, "{n}: {} requests", log.len());
        let prices = ids(&mut env, "prices");
        assert_eq!(prices.len(), 1200);
        // Filters still apply to every slice.
        let active: i64 = env.query("select count(*) from {s}.products where active")[0].get(0);
        let want: i64 = env.query(
            "with every_row as materialized (select * from {s}.products) select count(*) from every_row where active",
        )[0]
            .get(0);
        assert_eq!(active, want);
    }
    let plan = env
        .strings(
            "explain (analyze, costs off, timing off, summary off) select id from {s}.products",
        )
        .join("\n");
    assert!(plan.contains("Stripe Scan:"), "{plan}");
}

#[test]
fn objects_created_mid_scan_are_never_returned_twice() {
    let mut env = Env::with(generated(600, 1), "max_concurrency '4'", DEFAULT_API_KEY);
    let before: HashSet<String> = ids(&mut env, "products").into_iter().collect();
    env.exec("begin; declare c cursor for select id from {s}.products");
    let mut seen = env.strings("fetch 150 from c");
    for i in 0..20 {
        let (status, _) = env.stripe("POST", "/products", &format!("name=late{i}"));
        assert_eq!(status, 200);
    }
    seen.extend(env.strings("fetch all from c"));
    env.exec("close c; commit");
    let unique: HashSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "no object twice");
    assert!(
        before.is_subset(&unique),
        "every object that existed is there"
    );
}

#[test]
fn rate_limits_slow_the_scan_but_never_fail_it() {
    let mut env = Env::with(
        generated(900, 1),
        "max_concurrency '8', max_retries '5'",
        DEFAULT_API_KEY,
    );
    let want = ids(&mut env, "products");
    let mut r = rule(FaultKind::Status);
    r.status = Some(429);
    r.after = 2;
    r.count = Some(4);
    r.retry_after = Some(0);
    env.fake.set_faults(FaultConfig {
        latency_ms: 0,
        rules: vec![r],
    });
    env.take_log();
    assert_eq!(ids(&mut env, "products"), want);
    let log = env.take_log();
    assert_eq!(log.iter().filter(|e| e.status == 429).count(), 4, "{log:?}");
}

#[test]
fn a_cancel_stops_a_concurrent_scan_promptly() {
    let mut env = Env::with(generated(2000, 1), "max_concurrency '8'", DEFAULT_API_KEY);
    let start = env.postmaster_start();
    env.fake.set_faults(FaultConfig {
        latency_ms: 400,
        rules: vec![],
    });
    env.exec("set statement_timeout = '1s'");
    let t = Instant::now();
    let e = env.error("select count(*) from {s}.products");
    let took = t.elapsed();
    assert_eq!(e.code, "57014", "{e:?}");
    assert!(took.as_secs_f64() < 3.0, "cancelled after {took:?}");
    env.exec("reset statement_timeout");
    env.fake.set_faults(FaultConfig::default());
    let n: i64 = env.query("select count(*) from {s}.products")[0].get(0);
    assert_eq!(n, 2000, "the session goes on");
    assert_eq!(env.postmaster_start(), start);
}
