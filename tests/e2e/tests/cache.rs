//! The cache: create_cache / refresh_cache / cache_status / cache_drift / catalog / pg_cron.
//!
//! Each test caches its own foreign tables into `{s}_cache` and refreshes only its own caches
//! (objects `{s}_cache.products` / `{s}_cache.prices`), except the pg_cron job, which refreshes
//! every cache registered in the database.

use e2e::*;
use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

/// An Env whose caches live in `{s}_cache`; dropping it drops them and their registry rows.
struct Cached(Env);

impl Cached {
    fn new(catalog: Catalog) -> Cached {
        Cached::from(Env::new(catalog))
    }
    /// Holds a shared advisory lock for the session: the pg_cron test (which refreshes every
    /// cache of the database on schedule) runs alone, so it cannot disturb counts and logs here.
    fn from(mut env: Env) -> Cached {
        env.exec("select pg_advisory_lock_shared(4244)");
        Cached::unlocked(env)
    }
    fn unlocked(mut env: Env) -> Cached {
        let made =
            env.strings("select stripe_fdw.create_cache('{s}', '{s}_cache')::text order by 1");
        let s = env.s.clone();
        assert_eq!(
            made,
            vec![format!("{s}_cache.prices"), format!("{s}_cache.products")]
        );
        Cached(env)
    }
    fn refresh(&mut self, table: &str) {
        self.exec(&format!(
            "call stripe_fdw.refresh_cache('{{s}}_cache.{table}')"
        ));
    }
    fn refresh_both(&mut self) {
        self.refresh("products");
        self.refresh("prices");
    }
    fn drift(&mut self, table: &str) -> Vec<(String, String)> {
        self.query(&format!(
            "select id, change from stripe_fdw.cache_drift('{{s}}_cache.{table}')"
        ))
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
    }
    fn count(&mut self, rel: &str) -> i64 {
        self.query(&format!("select count(*) from {rel}"))[0].get(0)
    }
}

impl Deref for Cached {
    type Target = Env;
    fn deref(&self) -> &Env {
        &self.0
    }
}
impl DerefMut for Cached {
    fn deref_mut(&mut self) -> &mut Env {
        &mut self.0
    }
}
impl Drop for Cached {
    fn drop(&mut self) {
        let sql = self.0.sql(
            "delete from stripe_fdw.cache_registry where object like '{s}\\_cache.%';
             drop schema if exists {s}_cache cascade;",
        );
        let _ = self.0.db.batch_execute(&sql);
    }
}

/// A Stripe form POST to the fake (`path` like `/products/prod_x`); returns (status, body).
fn post(env: &Env, path: &str, form: &str) -> (u16, serde_json::Value) {
    env.stripe("POST", path, form)
}

fn product_id(env: &mut Env, name: &str) -> String {
    env.strings(&format!(
        "select id from {{s}}_cache.products where name = '{name}'"
    ))
    .remove(0)
}

#[test]
fn create_twice_refresh_and_read_the_cache_without_a_single_request() {
    let mut env = Cached::new(Catalog::Demo);
    // Again: harmless, same relations, no duplicate registry rows or indexes.
    let again = env.strings("select stripe_fdw.create_cache('{s}', '{s}_cache')::text order by 1");
    assert_eq!(again.len(), 2);
    let reg: i64 = env
        .query("select count(*) from stripe_fdw.cache_registry where object like '{s}\\_cache.%'")
        [0]
    .get(0);
    assert_eq!(reg, 2);
    let idx = env.strings(
        "select indexname::text from pg_indexes where schemaname = '{s}_cache' order by 1",
    );
    assert_eq!(
        idx,
        vec![
            "prices_active_idx",
            "prices_id_key",
            "prices_product_idx",
            "products_active_idx",
            "products_id_key"
        ]
    );
    // Before the first refresh: registered, nothing known yet.
    let st = env.query(
        "select refreshed_at is null, age is null, row_count is null from stripe_fdw.cache_status
          where object = '{s}_cache.products'",
    );
    assert!(st[0].get::<_, bool>(0) && st[0].get::<_, bool>(1) && st[0].get::<_, bool>(2));
    env.take_log();

    env.refresh_both();
    assert!(!env.take_log().is_empty(), "the refresh read Stripe");
    let live_products = env.count("{s}.products");
    let live_prices = env.count("{s}.prices");
    env.take_log();

    assert_eq!(env.count("{s}_cache.products"), live_products);
    assert_eq!(env.count("{s}_cache.prices"), live_prices);
    env.query("select * from {s}_cache.prices where product in (select id from {s}_cache.products where active)");
    env.query("select * from {s}_cache.catalog");
    let log = env.take_log();
    assert!(
        log.is_empty(),
        "reading the caches must not call Stripe: {log:?}"
    );

    let st = env.query(
        "select object, row_count, refreshed_at is not null, age >= interval '0', duration is not null,
                last_error is null
           from stripe_fdw.cache_status where object like '{s}\\_cache.%' order by object",
    );
    assert_eq!(st.len(), 2);
    assert_eq!(st[0].get::<_, i64>(1), live_prices);
    assert_eq!(st[1].get::<_, i64>(1), live_products);
    for r in &st {
        assert!(
            r.get::<_, bool>(2)
                && r.get::<_, bool>(3)
                && r.get::<_, bool>(4)
                && r.get::<_, bool>(5)
        );
    }
    // Second refresh is CONCURRENTLY (populated), and still fine.
    env.refresh_both();
    assert_eq!(env.count("{s}_cache.products"), live_products);
}

#[test]
fn catalog_lists_active_products_by_metadata_index_with_active_prices_by_amount() {
    let mut env = Cached::new(Catalog::Demo);
    env.refresh_both();
    let rows = env.query("select name, sort_index, prices from {s}_cache.catalog");
    let names: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(
        names,
        vec!["Hobby", "Pro", "Team"],
        "archived Legacy is left out"
    );
    let idx: Vec<Option<i64>> = rows.iter().map(|r| r.get(1)).collect();
    assert_eq!(idx, vec![Some(0), Some(1), Some(2)]);
    for (r, monthly) in rows.iter().zip([900i64, 2900, 9900]) {
        let prices: serde_json::Value = r.get(2);
        let prices = prices.as_array().unwrap();
        let amounts: Vec<i64> = prices
            .iter()
            .map(|p| p["unit_amount"].as_i64().unwrap())
            .collect();
        let mut sorted = amounts.clone();
        sorted.sort();
        assert_eq!(amounts, sorted, "ordered by unit_amount");
        let usd: Vec<(i64, String)> = prices
            .iter()
            .filter(|p| p["currency"] == "usd" && !p["interval"].is_null())
            .map(|p| {
                (
                    p["unit_amount"].as_i64().unwrap(),
                    p["interval"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            usd,
            vec![(monthly, "month".into()), (monthly * 10, "year".into())]
        );
    }
    // A product without a numeric index sorts last; a product without active prices has [].
    let (status, _) = post(&env, "/products", "name=Aardvark&metadata[index]=first");
    assert_eq!(status, 200);
    env.refresh("products");
    let rows = env.query("select name, sort_index, prices::text from {s}_cache.catalog");
    let names: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(names, vec!["Hobby", "Pro", "Team", "Aardvark"]);
    assert_eq!(rows[3].get::<_, Option<i64>>(1), None);
    assert_eq!(rows[3].get::<_, String>(2), "[]");
}

#[test]
fn a_failed_refresh_raises_keeps_every_row_and_shows_the_error_in_cache_status() {
    let mut env = Cached::from(Env::with(Catalog::Demo, "max_retries '0'", DEFAULT_API_KEY));
    env.refresh_both();
    let before = env.strings("select id from {s}_cache.products order by id");
    let before_prices = env.count("{s}_cache.prices");
    env.fake.set_faults(FaultConfig {
        latency_ms: 0,
        rules: vec![FaultRule {
            status: Some(500),
            ..rule(FaultKind::Status)
        }],
    });
    let err = env.error("call stripe_fdw.refresh_cache('{s}_cache.products')");
    assert_ne!(
        err.code, "2D000",
        "the Stripe error, not a transaction-control error: {err:?}"
    );
    assert!(!err.code.is_empty(), "{err:?}");
    assert_eq!(
        env.strings("select id from {s}_cache.products order by id"),
        before,
        "not one row lost"
    );
    let st = env.query(
        "select last_error, last_error_at is not null, row_count, refreshed_at is not null
           from stripe_fdw.cache_status where object = '{s}_cache.products'",
    );
    assert_eq!(
        st[0].get::<_, Option<String>>(0).as_deref(),
        Some(err.message.as_str())
    );
    assert!(st[0].get::<_, bool>(1));
    assert_eq!(
        st[0].get::<_, i64>(2),
        before.len() as i64,
        "the last good refresh stays recorded"
    );
    assert!(st[0].get::<_, bool>(3));

    // Extended protocol (a parameter): same behaviour.
    env.exec(
        "delete from stripe_fdw.cache_refreshes where object = '{s}_cache.prices' and error is not null",
    );
    let obj = env.sql("{s}_cache.prices");
    let e = env
        .db
        .execute("call stripe_fdw.refresh_cache($1)", &[&obj])
        .expect_err("must fail");
    let e = DbErr::from(&e);
    assert_eq!(e.code, err.code);
    assert_eq!(env.count("{s}_cache.prices"), before_prices);
    let last: Option<String> = env
        .query("select last_error from stripe_fdw.cache_status where object = '{s}_cache.prices'")
        [0]
    .get(0);
    assert_eq!(last.as_deref(), Some(e.message.as_str()));

    // Inside an explicit transaction block: the original error, nothing committed.
    let e2 = env.error("begin; call stripe_fdw.refresh_cache('{s}_cache.products')");
    env.exec("rollback");
    assert_eq!(
        (e2.code.as_str(), e2.message.as_str()),
        (err.code.as_str(), err.message.as_str())
    );
    assert_eq!(env.count("{s}_cache.products"), before.len() as i64);

    // Stripe back: success clears the error.
    env.fake.clear_faults();
    env.refresh("products");
    let st = env.query(
        "select last_error is null and last_error_at is null from stripe_fdw.cache_status
          where object = '{s}_cache.products'",
    );
    assert!(st[0].get::<_, bool>(0));
}

#[test]
fn a_rejected_key_fails_the_refresh_with_the_fdw_error_and_keeps_the_rows() {
    let mut env = Cached::from(Env::with(Catalog::Demo, "max_retries '0'", DEFAULT_API_KEY));
    env.refresh("products");
    let n = env.count("{s}_cache.products");
    env.exec("alter user mapping for current_user server {server} options (set api_key 'sk_test_rejected')");
    let err = env.error("call stripe_fdw.refresh_cache('products_not_a_cache')");
    assert_eq!(err.code, "42704", "unknown object: {err:?}");
    assert!(
        err.all_text().contains(&env.sql("{s}_cache.products")),
        "lists the caches: {err:?}"
    );
    let err = env.error("call stripe_fdw.refresh_cache('{s}_cache.products')");
    assert_eq!(err.code, "28000", "{err:?}");
    assert_eq!(env.count("{s}_cache.products"), n);
    let last: Option<String> = env.query(
        "select last_error from stripe_fdw.cache_status where object = '{s}_cache.products'",
    )[0]
    .get(0);
    assert_eq!(last.as_deref(), Some(err.message.as_str()));
}

#[test]
fn drift_shows_changed_added_and_removed_and_a_refresh_clears_it() {
    let mut env = Cached::new(Catalog::Demo);
    env.refresh_both();
    assert!(env.drift("products").is_empty());
    assert!(env.drift("prices").is_empty());

    let hobby = product_id(&mut env, "Hobby");
    let (status, _) = post(&env, &format!("/products/{hobby}"), "name=New+Name");
    assert_eq!(status, 200);
    let (status, body) = post(&env, "/products", "name=X");
    assert_eq!(status, 200);
    let added = body["id"].as_str().expect("new product id").to_string();
    let mut want = vec![
        (hobby.clone(), "changed".to_string()),
        (added.clone(), "added".to_string()),
    ];
    want.sort();
    assert_eq!(env.drift("products"), want);
    assert!(env.drift("prices").is_empty());

    env.refresh("products");
    assert!(env.drift("products").is_empty());
    assert_eq!(
        env.strings(&format!(
            "select name from {{s}}_cache.products where id = '{hobby}'"
        )),
        vec!["New Name"]
    );

    let (status, _) = env.stripe("DELETE", &format!("/products/{added}"), "");
    assert_eq!(status, 200);
    assert_eq!(env.drift("products"), vec![(added, "removed".to_string())]);
    env.refresh("products");
    assert!(env.drift("products").is_empty());
}

#[test]
fn a_reader_is_not_blocked_while_the_cache_refreshes() {
    let mut env = Cached::new(Catalog::Demo);
    env.refresh("products");
    let n = env.count("{s}_cache.products");
    env.fake.set_faults(FaultConfig {
        latency_ms: 1500,
        rules: vec![],
    });
    let call = env.sql("call stripe_fdw.refresh_cache('{s}_cache.products')");
    let refresher = std::thread::spawn(move || {
        let mut db = connect();
        let t = Instant::now();
        db.batch_execute(&call).map_err(|e| describe(&e))?;
        Ok::<Duration, String>(t.elapsed())
    });
    std::thread::sleep(Duration::from_millis(400));
    env.exec("set lock_timeout = '500ms'");
    let t = Instant::now();
    assert_eq!(
        env.count("{s}_cache.products"),
        n,
        "the old rows, without waiting"
    );
    assert!(t.elapsed() < Duration::from_millis(500));
    assert!(
        !refresher.is_finished(),
        "the refresh was still running while we read"
    );
    let took = refresher.join().unwrap().expect("the refresh succeeds");
    assert!(took >= Duration::from_millis(1500), "{took:?}");
    env.exec("reset lock_timeout");
    env.fake.clear_faults();
}

#[test]
fn pg_cron_refreshes_the_cache_on_schedule() {
    let mut alone = connect();
    alone
        .batch_execute("select pg_advisory_lock(4244)")
        .unwrap();
    let mut env = Cached::unlocked(Env::new(Catalog::Demo));
    env.exec("select pg_advisory_lock(4243); create extension if not exists pg_cron; select pg_advisory_unlock(4243)");
    let version: String =
        env.query("select extversion from pg_extension where extname = 'pg_cron'")[0].get(0);
    let seconds = {
        let v: Vec<u32> = version
            .split(['.', '-'])
            .filter_map(|p| p.parse().ok())
            .collect();
        v >= vec![1, 5]
    };
    // Intervals cron cannot express are refused with what is supported.
    let err = env.error("select stripe_fdw.schedule_refresh('7 minutes')");
    assert_eq!(err.code, "22023");
    assert!(err.all_text().contains("Supported"), "{err:?}");
    if !seconds {
        let err = env.error("select stripe_fdw.schedule_refresh('2 seconds')");
        assert_eq!(err.code, "0A000", "{err:?}");
    }
    env.refresh_both();
    let hobby = product_id(&mut env, "Hobby");
    let (status, _) = post(&env, &format!("/products/{hobby}"), "name=Scheduled+Name");
    assert_eq!(status, 200);

    let (every, wait) = if seconds {
        ("2 seconds", 30)
    } else {
        ("1 minute", 90)
    };
    env.exec(&format!("select stripe_fdw.schedule_refresh('{every}')"));
    let job = env.query(
        "select schedule, command from cron.job where jobname = 'stripe_fdw_refresh' and username = current_user",
    );
    assert_eq!(job.len(), 1);
    assert_eq!(
        job[0].get::<_, String>(1),
        "call stripe_fdw.run_scheduled('1 day')"
    );
    let deadline = Instant::now() + Duration::from_secs(wait);
    let sql = format!("select name from {{s}}_cache.products where id = '{hobby}'");
    let mut seen = String::new();
    while Instant::now() < deadline {
        seen = env.strings(&sql).remove(0);
        if seen == "Scheduled Name" {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let removed: bool = env.query("select stripe_fdw.unschedule_refresh()")[0].get(0);
    let again: bool = env.query("select stripe_fdw.unschedule_refresh()")[0].get(0);
    assert_eq!(
        seen, "Scheduled Name",
        "the cron job refreshed the cache within {wait} s"
    );
    assert!(removed);
    assert!(!again, "nothing left to unschedule");
    let st = env.query(
        "select last_error is null from stripe_fdw.cache_status where object = '{s}_cache.products'",
    );
    assert!(st[0].get::<_, bool>(0));
}

/// The default caches the catalog's objects; others on request, if a scan reads them whole.
#[test]
fn create_cache_caches_products_and_prices_by_default_and_other_objects_on_request() {
    let mut env = Env::new(Catalog::Demo);
    let err = env.error("select stripe_fdw.create_cache('{s}', '{s}_x', array['tokens'])");
    assert_eq!(err.code, "0A000", "{err:?}");
    assert!(err.message.contains("tokens"), "{err:?}");
    let err =
        env.error("select stripe_fdw.create_cache('{s}', '{s}_x', array['subscription_items'])");
    assert_eq!(err.code, "0A000", "{err:?}");
    for bad in [
        "array['checkout_sessions']",
        "array[null]::text[]",
        "'{}'::text[]",
    ] {
        let err = env.error(&format!(
            "select stripe_fdw.create_cache('{{s}}', '{{s}}_x', {bad})"
        ));
        assert_eq!(err.code, "22023", "{bad}: {err:?}");
    }
    let made =
        env.strings("select stripe_fdw.create_cache('{s}', '{s}_cust', array['customers'])::text");
    assert_eq!(made, vec![env.sql("{s}_cust.customers")]);
    env.exec("call stripe_fdw.refresh_cache('{s}_cust.customers')");
    let n: i64 = env.query("select count(*) from {s}_cust.customers")[0].get(0);
    let live: i64 = env.query("select count(*) from {s}.customers")[0].get(0);
    assert_eq!(n, live);
    // null: every object a scan reads whole, but events and those that need a condition.
    let all = env.strings("select stripe_fdw.create_cache('{s}', '{s}_all', null)::text");
    let s = env.s.clone();
    for object in [
        "products",
        "prices",
        "customers",
        "subscriptions",
        "balance",
    ] {
        assert!(
            all.contains(&format!("{s}_all.{object}")),
            "{object}: {all:?}"
        );
    }
    for object in [
        "events",
        "tokens",
        "mandates",
        "setup_attempts",
        "subscription_items",
    ] {
        assert!(
            !all.contains(&format!("{s}_all.{object}")),
            "{object}: {all:?}"
        );
    }
    env.exec(&format!(
        "drop schema {s}_cust cascade; drop schema {s}_all cascade;
         delete from stripe_fdw.cache_registry where cache_schema in ('{s}_cust', '{s}_all');
         delete from stripe_fdw.cache_schemas where name in ('{s}_cust', '{s}_all');"
    ));
}
