//! CALL stripe_fdw.catch_up() and the scheduled run: changes made while no webhook was delivered
//! are applied with one events request plus one read per changed object; a gap longer than
//! Stripe's 30 days of events (or no starting point) falls back to a full sync and says so; a
//! scheduled run with nothing changed makes exactly one request.
//!
//! Each test has a database of its own (the starter's tables, synced).

mod hooks;
mod starter;

use e2e::*;
use hooks::*;
use starter::*;

/// The ids a log asked Stripe for, per endpoint: (events requests, product ids, price ids, other).
fn tally(log: &[LogEntry]) -> (usize, Vec<String>, Vec<String>, Vec<String>) {
    let mut events = 0;
    let (mut products, mut prices, mut other) = (Vec::new(), Vec::new(), Vec::new());
    for e in log {
        if e.path == "/v1/events" {
            events += 1;
        } else if e.path == "/v1/products" && param(e, "ids[]").is_some() {
            products.extend(
                e.query
                    .iter()
                    .filter(|(k, _)| k == "ids[]")
                    .map(|(_, v)| v.clone()),
            );
        } else if let Some(id) = e.path.strip_prefix("/v1/products/") {
            products.push(id.to_string());
        } else if let Some(id) = e.path.strip_prefix("/v1/prices/") {
            prices.push(id.to_string());
        } else {
            other.push(format!("{} {}", e.method, e.path));
        }
    }
    products.sort();
    prices.sort();
    (events, products, prices, other)
}

#[test]
fn changes_made_while_the_app_was_down_are_applied_by_catch_up() {
    let mut env = hooked(Catalog::Demo);
    let hobby = product_id(&mut env, "Hobby");
    let freelancer = product_id(&mut env, "Pro");
    let price = prices_of(&mut env, &hobby).remove(0);
    // The app is down: nobody delivers these.
    stripe_ok(&env, "POST", &format!("/products/{hobby}"), "name=Hobby+v2");
    stripe_ok(&env, "POST", &format!("/products/{hobby}"), "name=Hobby+v3");
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{freelancer}"),
        "description=Solo",
    );
    stripe_ok(&env, "POST", &format!("/prices/{price}"), "active=false");
    let team = create(&env, "/products", "name=Enterprise");
    let team_price = create(
        &env,
        "/prices",
        &format!("product={team}&currency=usd&unit_amount=9900&recurring[interval]=month"),
    );
    env.take_log();

    env.exec("call stripe_fdw.catch_up()");
    let log = env.take_log();
    let (events, products, mut prices, other) = tally(&log);
    assert_eq!(events, 1, "one events page: {:?}", paths(&log));
    let mut changed = vec![hobby.clone(), freelancer.clone(), team.clone()];
    changed.sort();
    assert_eq!(products, changed, "each changed product once");
    let mut changed_prices = vec![price.clone(), team_price.clone()];
    changed_prices.sort();
    prices.sort();
    assert_eq!(prices, changed_prices, "one retrieve per changed price");
    assert!(other.is_empty(), "{other:?}");
    assert_in_sync(&mut env);
    assert_eq!(
        synced_product(&mut env, &hobby, "name").as_deref(),
        Some("Hobby v3")
    );

    // Caught up: the next run is one request, and what a webhook already applied is not read again.
    env.take_log();
    env.exec("call stripe_fdw.catch_up()");
    assert_eq!(paths(&env.take_log()), ["GET /v1/events"]);
    stripe_ok(&env, "POST", &format!("/products/{hobby}"), "name=Hobby+v4");
    {
        let evt = event_for(&env, "product.updated", &hobby);
        deliver(&mut env, &evt)
    };
    env.take_log();
    env.exec("call stripe_fdw.catch_up()");
    assert_eq!(paths(&env.take_log()), ["GET /v1/events"]);
    let via: Vec<String> = env.strings("select via from stripe_fdw.webhook_events order by seq");
    assert_eq!(via.iter().filter(|v| *v == "catch_up").count(), 6);
    assert_eq!(via.last().map(String::as_str), Some("webhook"));
}

#[test]
fn a_gap_longer_than_stripes_retention_falls_back_to_a_full_sync() {
    let mut env = hooked(Catalog::Demo);
    let hobby = product_id(&mut env, "Hobby");
    stripe_ok(&env, "POST", &format!("/products/{hobby}"), "name=Long+Ago");
    env.exec("call stripe_fdw.catch_up()"); // the starting point is now that event
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "name=While+Away",
    );
    env.fake.age_events(31 * 24 * 3600);
    env.notices.lock().expect("notices").clear();
    env.take_log();

    env.exec("call stripe_fdw.catch_up()");
    let notices = env.notices.lock().expect("notices").clone();
    assert!(
        notices
            .iter()
            .any(|n| n.contains("full sync") && n.contains("30 days")),
        "{notices:?}"
    );
    let log = env.take_log();
    assert!(
        log.iter()
            .any(|e| e.path == "/v1/products" && param(e, "ids[]").is_none()),
        "a full read of the products: {:?}",
        paths(&log)
    );
    assert_eq!(
        synced_product(&mut env, &hobby, "name").as_deref(),
        Some("While Away")
    );
    assert_in_sync(&mut env);
    // The full sync recorded a new starting point: the next run is one request again.
    env.take_log();
    env.exec("call stripe_fdw.catch_up()");
    assert_eq!(paths(&env.take_log()), ["GET /v1/events"]);
}

#[test]
fn without_a_starting_point_catch_up_does_a_full_sync_and_says_so() {
    let mut env = starter(Catalog::Demo);
    env.exec("call stripe_fdw.catch_up()");
    let notices = env.notices.lock().expect("notices").clone();
    assert!(
        notices.iter().any(|n| n.contains("no starting point")),
        "{notices:?}"
    );
    assert_in_sync(&mut env);
    let n: i64 = env.query("select count(*) from stripe_fdw.event_cursor")[0].get(0);
    assert_eq!(n, 1);
}

#[test]
fn a_scheduled_run_with_no_change_makes_exactly_one_request() {
    let mut env = hooked(Catalog::Demo);
    env.exec("select stripe_fdw.create_cache('{s}', '{s}_cache')");
    env.exec("call stripe_fdw.refresh_all()");
    env.take_log();

    env.exec("call stripe_fdw.run_scheduled('1 day')");
    let log = env.take_log();
    assert_eq!(paths(&log), ["GET /v1/events"], "one request");

    // A change: caught up (one events page + one read) and the synced table follows.
    let hobby = product_id(&mut env, "Hobby");
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "name=Scheduled",
    );
    env.take_log();
    env.exec("call stripe_fdw.run_scheduled('1 day')");
    let (events, products, prices, _) = tally(&env.take_log());
    assert_eq!((events, products.len(), prices.len()), (1, 1, 0));
    assert_eq!(
        synced_product(&mut env, &hobby, "name").as_deref(),
        Some("Scheduled")
    );

    // Once per reconcile_every: a full sync and every cache.
    env.exec("update stripe_fdw.schedule_state set reconciled_at = now() - interval '2 days'");
    env.exec("call stripe_fdw.run_scheduled('1 day')");
    let log = env.take_log();
    assert!(
        log.iter()
            .any(|e| e.path == "/v1/prices" && param(e, "ids[]").is_none()),
        "{:?}",
        paths(&log)
    );
    let fresh: bool = env
        .query("select reconciled_at > now() - interval '1 minute' from stripe_fdw.schedule_state")
        [0]
    .get(0);
    assert!(fresh);
    let e = env.error("call stripe_fdw.run_scheduled('0')");
    assert_eq!(e.code, "22023");
}

#[test]
fn a_webhook_marks_the_caches_stale_and_the_scheduled_run_refreshes_them() {
    let mut env = hooked(Catalog::Demo);
    env.exec("select stripe_fdw.create_cache('{s}', '{s}_cache')");
    env.exec("call stripe_fdw.refresh_all()");
    let hobby = product_id(&mut env, "Hobby");
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "name=Cached+Later",
    );
    let evt = event_for(&env, "product.updated", &hobby);
    deliver(&mut env, &evt);
    let stale: Vec<String> = env.strings(
        "select object from stripe_fdw.cache_status where stale_since is not null order by 1",
    );
    assert_eq!(stale, [env.sql("{s}_cache.products")]);
    env.take_log();

    env.exec("call stripe_fdw.run_scheduled('1 day')");
    let log = env.take_log();
    assert_eq!(log[0].path, "/v1/events", "{:?}", paths(&log));
    assert!(
        log[1..].iter().all(|e| e.path == "/v1/products"),
        "only the stale cache is read again: {:?}",
        paths(&log)
    );
    let cached: String = env.query(&format!(
        "select name from {{s}}_cache.products where id = '{hobby}'"
    ))[0]
        .get(0);
    assert_eq!(cached, "Cached Later");
    let stale: i64 = env
        .query("select count(*) from stripe_fdw.cache_status where stale_since is not null")[0]
        .get(0);
    assert_eq!(stale, 0);
}

#[test]
fn catch_up_reads_one_events_page_per_100_events_and_each_object_once() {
    let mut env = hooked(Catalog::Demo);
    env.exec("call stripe_fdw.catch_up()"); // a starting point
    let hobby = product_id(&mut env, "Hobby");
    for i in 0..150 {
        stripe_ok(
            &env,
            "POST",
            &format!("/products/{hobby}"),
            &format!("name=Hobby+{i}"),
        );
    }
    env.take_log();
    env.exec("call stripe_fdw.catch_up()");
    let log = env.take_log();
    let (events, products, prices, other) = tally(&log);
    assert_eq!(events, 2, "150 events: two pages of 100");
    assert_eq!(
        products,
        [hobby.as_str()],
        "one read for 150 events of one product"
    );
    assert!(prices.is_empty() && other.is_empty(), "{:?}", paths(&log));
    assert_eq!(
        synced_product(&mut env, &hobby, "name").as_deref(),
        Some("Hobby 149")
    );
}

#[test]
fn a_key_that_cannot_read_events_still_syncs_and_catch_up_falls_back() {
    let mut env = starter(Catalog::Demo);
    // A restricted key without events: Stripe answers 403 to /v1/events.
    env.fake.set_faults(FaultConfig {
        latency_ms: 0,
        rules: vec![FaultRule {
            status: Some(403),
            path_prefix: Some("/v1/events".into()),
            ..rule(FaultKind::Status)
        }],
    });
    env.exec("call stripe_fdw.sync()");
    let notices = env.notices.lock().expect("notices").clone();
    assert!(
        notices
            .iter()
            .any(|n| n.starts_with("WARNING") && n.contains("may not read Stripe's events")),
        "{notices:?}"
    );
    assert_in_sync(&mut env);
    let n: i64 = env.query("select count(*) from stripe_fdw.event_cursor")[0].get(0);
    assert_eq!(n, 0, "no starting point");
    env.fake.clear_faults();
    env.exec("call stripe_fdw.catch_up()");
    let notices = env.notices.lock().expect("notices").clone();
    assert!(
        notices.iter().any(|n| n.contains("no starting point")),
        "{notices:?}"
    );
}
