//! Hosted Supabase, without the extension's library: the migration, the stripe-sync Edge Function
//! (Deno) and the fake Stripe keep the starter's tables equal to Stripe through the seed's
//! scenarios. scripts/hosted-test runs these (`--ignored`) against a clean PostgreSQL with no
//! stripe_fdw files (HOSTED_PGHOST/HOSTED_PGPORT); the extension's cluster (PGHOST/PGPORT) reads
//! Stripe live for the checks, the same checks as the extension's own tests.

mod starter;

use e2e::*;
use postgres::{Client, NoTls};
use serde_json::Value;
use starter::{live_rows, synced_rows, MIGRATIONS};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The worker's bearer secret the tests give the function.
const WORKER_SECRET: &str = "worker-secret-0123456789abcdef";

fn var(k: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set: run scripts/hosted-test"))
}

/// A database of the hosted cluster, with the migration applied and the starter's tables
/// registered as docs/hosted-supabase.md says; the stripe-sync function serving it; and, on the
/// same fake Stripe, the extension's foreign tables (`oracle`) that say what Stripe holds.
struct Hosted {
    oracle: Env,
    db: Client,
    dbname: String,
    function: Child,
    url: String,
}

impl Drop for Hosted {
    fn drop(&mut self) {
        let _ = self.function.kill();
        let _ = self.function.wait();
        if let Ok(mut admin) = hosted_connect("postgres") {
            let _ = admin.batch_execute(&format!(
                "select pg_terminate_backend(pid) from pg_stat_activity where datname = '{0}';
                 drop database if exists {0}",
                self.dbname
            ));
        }
    }
}

fn hosted_connect(dbname: &str) -> Result<Client, postgres::Error> {
    Client::connect(
        &format!(
            "host={} port={} user=postgres dbname={dbname}",
            var("HOSTED_PGHOST"),
            var("HOSTED_PGPORT")
        ),
        NoTls,
    )
}

/// The SQL block of docs/hosted-supabase.md after the tested marker.
fn doc_block() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/hosted-supabase.md");
    let doc = std::fs::read_to_string(path).expect("docs/hosted-supabase.md");
    doc.split("<!-- tested: tests/e2e/tests/hosted.rs -->")
        .nth(1)
        .and_then(|a| a.split("```sql").nth(1))
        .and_then(|b| b.split("```").next())
        .expect("the tested block of docs/hosted-supabase.md")
        .to_string()
}

impl Hosted {
    fn new(catalog: Catalog, max_requests: u32) -> Hosted {
        let oracle = Env::in_own_database(catalog);
        let dbname = format!("hosted_{}", unique_tag());
        hosted_connect("postgres")
            .expect("connect to the hosted cluster")
            .batch_execute(&format!("create database {dbname}"))
            .expect("create database");
        let mut db = hosted_connect(&dbname).expect("connect");
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let migration = std::fs::read_to_string(format!(
            "{root}/supabase/migrations/20261206000000_stripe_fdw.sql"
        ))
        .expect("the migration");
        db.batch_execute(&migration).expect("the migration applies");
        db.batch_execute(MIGRATIONS).expect("the starter's migrations");
        db.batch_execute(&doc_block())
            .expect("docs/hosted-supabase.md's block");
        let (function, url) = start_function(&oracle, &dbname, max_requests);
        Hosted {
            oracle,
            db,
            dbname,
            function,
            url,
        }
    }

    fn post(&self, route: &str, auth: Option<&str>, body: &str) -> (u16, Value) {
        let mut req = ureq::post(&format!("{}/{route}", self.url))
            .timeout(Duration::from_secs(120));
        if let Some(a) = auth {
            req = req.set("Authorization", &format!("Bearer {a}"));
        }
        let resp = match req.send_string(body) {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("POST {route}: {e}"),
        };
        let status = resp.status();
        let text = resp.into_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// One worker run, as pg_cron's job starts it through pg_net.
    fn worker(&self) -> Value {
        let (status, body) = self.post("worker", Some(WORKER_SECRET), "{}");
        assert_eq!(status, 200, "worker: {body}");
        body
    }

    /// Worker runs until one has nothing left of a full sync to do.
    fn worker_until_done(&self) {
        for _ in 0..50 {
            let _ = self.worker();
            if self.plan()["do"] != "sync_page" && self.plan()["do"] != "sync_finish" {
                return;
            }
        }
        panic!("the worker did not finish in 50 runs");
    }

    fn plan(&self) -> Value {
        let mut db = hosted_connect(&self.dbname).expect("connect");
        db.query_one("select stripe_fdw.worker_plan('stripe')", &[])
            .expect("worker_plan")
            .get(0)
    }

    fn q(&mut self, sql: &str) -> Vec<postgres::Row> {
        self.db
            .query(sql, &[])
            .unwrap_or_else(|e| panic!("{sql}: {}", describe(&e)))
    }

    fn int(&mut self, sql: &str) -> i64 {
        self.q(sql)[0].get(0)
    }

    /// The starter's tables hold what Stripe holds (read live by the extension).
    fn assert_in_sync(&mut self, when: &str) {
        let [live_products, live_prices] = live_rows(&mut self.oracle);
        let [products, prices] = synced_rows(&mut self.db);
        assert_eq!(products, live_products, "{when}: products as Stripe has them");
        assert_eq!(prices, live_prices, "{when}: prices as Stripe has them");
    }

    fn stripe(&self, method: &str, path: &str, form: &str) -> Value {
        let (status, body) = self.oracle.stripe(method, path, form);
        assert_eq!(status, 200, "{method} {path} {form}: {body}");
        body
    }

    /// The newest event of `kind` about `id`.
    fn event_for(&self, kind: &str, id: &str) -> String {
        self.oracle
            .fake
            .events()
            .iter()
            .find(|e| e["type"] == kind && e["data"]["object"]["id"] == id)
            .and_then(|e| e["id"].as_str())
            .unwrap_or_else(|| panic!("no {kind} event for {id}"))
            .to_string()
    }

    /// Deliver an event to the function's webhook route, signed with `secret`: the status.
    fn deliver(&self, event: &str, secret: &str) -> u16 {
        self.oracle
            .fake
            .send_webhook(event, &format!("{}/webhook", self.url), secret, None)
            .unwrap_or_else(|e| panic!("deliver {event}: {e}"))
    }
}

/// Start the function (tests/hosted/run-function) for database `dbname` and the oracle's fake.
fn start_function(oracle: &Env, dbname: &str, max_requests: u32) -> (Child, String) {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let mut child = Command::new(format!("{root}/tests/hosted/run-function"))
        .env("DENO", var("DENO"))
        .env("STRIPE_API_KEY", DEFAULT_API_KEY)
        .env("STRIPE_API_BASE", oracle.fake.root_url())
        .env(
            "SUPABASE_DB_URL",
            format!(
                "postgres://postgres@{}:{}/{dbname}",
                var("HOSTED_PGHOST"),
                var("HOSTED_PGPORT")
            ),
        )
        .env("STRIPE_SYNC_WORKER_SECRET", WORKER_SECRET)
        .env("STRIPE_SYNC_MAX_REQUESTS", max_requests.to_string())
        .env("STRIPE_SYNC_PORT", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start tests/hosted/run-function");
    let out = child.stdout.take().expect("the function's stdout");
    let mut lines = BufReader::new(out).lines();
    let url = loop {
        match lines.next() {
            Some(Ok(l)) => {
                if let Some(i) = l.find("http://") {
                    break l[i..].trim().trim_end_matches('/').to_string();
                }
            }
            _ => panic!("the function exited before it said where it listens"),
        }
    };
    // Keep draining its output so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, url)
}

/// The seed's story on hosted Supabase: first deploy, an idle run, a signed webhook, its replay, a
/// forged one, changes while down and catch-up, drift repaired by the reconciliation, health.
#[test]
#[ignore = "run by scripts/hosted-test, against a PostgreSQL without the extension's library"]
fn the_starter_kept_equal_to_stripe_without_the_library() {
    let mut h = Hosted::new(Catalog::Demo, 50);

    // Nothing of the extension's library is loaded or referenced.
    let libdir = var("HOSTED_LIBDIR");
    assert!(
        !std::path::Path::new(&format!("{libdir}/stripe_fdw.so")).exists(),
        "the hosted cluster has no stripe_fdw.so"
    );
    assert_eq!(
        h.int("select count(*) from pg_proc where probin is not null and probin like '%stripe_fdw%'"),
        0
    );

    // The webhook endpoint, made by the function: only the events the syncs need, never '*'.
    let (status, body) = h.post(
        "setup",
        Some(WORKER_SECRET),
        &format!(r#"{{"url": "{}/webhook"}}"#, h.url),
    );
    assert_eq!(status, 200, "setup: {body}");
    let endpoints = h.oracle.fake.endpoints();
    assert_eq!(endpoints.len(), 1);
    let we = endpoints[0]["id"].as_str().expect("endpoint id").to_string();
    let enabled: Vec<String> = endpoints[0]["enabled_events"]
        .as_array()
        .expect("enabled_events")
        .iter()
        .map(|e| e.as_str().unwrap_or_default().to_string())
        .collect();
    let wanted: Vec<String> = h.q("select unnest(stripe_fdw.endpoint_events('stripe')) order by 1")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut got = enabled.clone();
    got.sort();
    assert_eq!(got, wanted, "subscribed to exactly what the syncs need");
    assert!(!enabled.contains(&"*".to_string()));
    let secret = h.oracle.fake.endpoint_secret(&we).expect("the endpoint's secret");
    assert!(!body.to_string().contains(&secret), "setup never answers the secret");

    // First deploy: empty tables, then one worker run fills them from Stripe.
    assert_eq!(h.int("select count(*) from public.products"), 0);
    h.worker_until_done();
    h.assert_in_sync("first deploy");
    assert_eq!(
        h.int("select count(*) from stripe_fdw.sync_status where synced_at is null"),
        0,
        "every target synced"
    );

    // An idle run costs one request.
    h.oracle.fake.clear_log();
    let _ = h.worker();
    let log = h.oracle.fake.log();
    assert_eq!(log.len(), 1, "an idle run is one request: {:?}", log.iter().map(|e| &e.path).collect::<Vec<_>>());
    assert!(log[0].path.ends_with("/events"), "{}", log[0].path);

    // A signed webhook: the product is re-read from Stripe and applied.
    let pro = h.q("select id from public.products where name = 'Pro'")[0].get::<_, String>(0);
    h.stripe("POST", &format!("/products/{pro}"), "name=Pro%20Plus");
    let ev = h.event_for("product.updated", &pro);
    h.oracle.fake.clear_log();
    assert_eq!(h.deliver(&ev, &secret), 200);
    assert_eq!(
        h.q(&format!("select name from public.products where id = '{pro}'"))[0].get::<_, String>(0),
        "Pro Plus"
    );
    assert!(
        h.oracle.fake.log().iter().any(|e| e.path.contains(&pro)),
        "the product was read again from Stripe"
    );
    h.assert_in_sync("after a webhook");

    // Its replay does nothing and asks Stripe nothing.
    let recorded = h.int("select count(*) from stripe_fdw.webhook_events");
    h.oracle.fake.clear_log();
    assert_eq!(h.deliver(&ev, &secret), 200);
    assert!(h.oracle.fake.log().is_empty(), "a replay reads nothing");
    assert_eq!(h.int("select count(*) from stripe_fdw.webhook_events"), recorded);

    // A forged one (another secret) is refused, and nothing is written.
    h.stripe("POST", &format!("/products/{pro}"), "name=Forged");
    let forged = h.event_for("product.updated", &pro);
    assert_eq!(h.deliver(&forged, "whsec_not_the_endpoints"), 400);
    assert_eq!(h.int("select count(*) from stripe_fdw.webhook_events"), recorded);
    assert_eq!(
        h.q(&format!("select name from public.products where id = '{pro}'"))[0].get::<_, String>(0),
        "Pro Plus"
    );

    // Changes while the app was down (no webhook delivered): the worker catches up from events.
    let new_product = h.stripe("POST", "/products", "name=Enterprise")["id"]
        .as_str()
        .expect("id")
        .to_string();
    h.stripe(
        "POST",
        "/prices",
        &format!("product={new_product}&currency=usd&unit_amount=9900&recurring[interval]=month"),
    );
    let hobby = h.q("select id from public.products where name = 'Hobby'")[0].get::<_, String>(0);
    h.stripe("POST", &format!("/products/{hobby}"), "description=For%20side%20projects");
    let some_price = h.q(&format!("select id from public.prices where product_id = '{hobby}' order by id limit 1"))[0]
        .get::<_, String>(0);
    h.stripe("POST", &format!("/prices/{some_price}"), "active=false");
    let _ = h.worker();
    h.assert_in_sync("after catch-up");
    assert!(
        h.int("select count(*) from stripe_fdw.webhook_events where via = 'catch_up' and action = 'applied'") >= 4,
        "catch-up applied the missed events"
    );

    // Drift: rows changed behind the engine's back are repaired by the daily reconciliation, and
    // health says so.
    h.q(&format!("update public.products set name = 'Wrong' where id = '{hobby}'"));
    h.q(&format!("delete from public.prices where id = '{some_price}'"));
    // A day later (the account's reconcile_every): the worker's next run reconciles in full.
    h.q("update stripe_fdw.sync_registry set synced_at = synced_at - interval '25 hours'");
    assert_eq!(h.plan()["do"], "sync_start");
    h.worker_until_done();
    h.assert_in_sync("after the reconciliation");
    assert!(h.int("select coalesce(sum(repaired), 0)::bigint from stripe_fdw.sync_status") >= 2);
    let warnings: Vec<String> = h
        .q("select reason from stripe_fdw.health where status <> 'ok'")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        warnings.iter().any(|w| w.contains("repair")),
        "health reports the repair: {warnings:?}"
    );

    // A full sync asked for by hand clears it; then health says only that webhooks were missed
    // (the downtime above: catch-up applied events no webhook delivered).
    h.q("select stripe_fdw.request_sync('stripe')");
    h.worker_until_done();
    h.assert_in_sync("after a requested sync");
    let problems: Vec<String> = h
        .q("select kind || ' ' || name || ': ' || reason from stripe_fdw.health where status <> 'ok'")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        problems,
        vec!["server stripe: webhooks are being missed: in the last day catch_up applied 4 event(s) no webhook delivered"],
        "health"
    );
}

/// A webhook applied while a full sync reads across bounded runs is not undone by the older
/// snapshot; runs resume where the last stopped.
#[test]
#[ignore = "run by scripts/hosted-test, against a PostgreSQL without the extension's library"]
fn a_webhook_during_a_long_full_sync_is_kept() {
    // 3 requests a run: the products (2 pages) and prices (several pages) take several runs.
    let mut h = Hosted::new(generated(150, 2), 3);
    let (status, body) = h.post(
        "setup",
        Some(WORKER_SECRET),
        &format!(r#"{{"url": "{}/webhook"}}"#, h.url),
    );
    assert_eq!(status, 200, "setup: {body}");
    let we = h.oracle.fake.endpoints()[0]["id"].as_str().expect("id").to_string();
    let secret = h.oracle.fake.endpoint_secret(&we).expect("secret");

    let first = h.worker();
    assert_ne!(h.plan()["do"], "catch_up", "one bounded run does not finish: {first}");
    assert_eq!(
        h.int("select count(*) from public.products"),
        0,
        "nothing is applied before the full read is whole"
    );
    // The products are read already; now one changes, and its webhook is applied.
    let (_, list) = h.oracle.stripe("GET", "/products?limit=1", "");
    let p = list["data"][0]["id"].as_str().expect("a product").to_string();
    h.stripe("POST", &format!("/products/{p}"), "name=Renamed%20during%20the%20sync");
    let ev = h.event_for("product.updated", &p);
    assert_eq!(h.deliver(&ev, &secret), 200);
    // The rest of the full read, then its write: the older snapshot does not undo the webhook.
    // The two reads overlap and disagree about the product: it is read again under the lock.
    h.worker_until_done();
    assert!(
        h.int("select coalesce(sum(n), 0)::bigint from stripe_fdw.engine_counters where name = 'conflicts'") >= 1,
        "the full read met the webhook's newer read"
    );
    assert_eq!(
        h.q(&format!("select name from public.products where id = '{p}'"))[0].get::<_, String>(0),
        "Renamed during the sync"
    );
    h.assert_in_sync("after the long full sync");
}

/// After an outage longer than the events Stripe keeps, the worker does a full sync.
#[test]
#[ignore = "run by scripts/hosted-test, against a PostgreSQL without the extension's library"]
fn an_outage_longer_than_stripes_events_is_a_full_sync() {
    let mut h = Hosted::new(Catalog::Demo, 50);
    h.worker_until_done();
    let pro = h.q("select id from public.products where name = 'Pro'")[0].get::<_, String>(0);
    h.stripe("POST", &format!("/products/{pro}"), "name=Pro%202");
    h.oracle.fake.age_events(31 * 86400);
    h.q("update stripe_fdw.event_cursor set recorded_at = now() - interval '31 days', event_created = event_created - 31 * 86400");
    assert_eq!(h.plan()["do"], "sync_start");
    h.worker_until_done();
    h.assert_in_sync("after the long outage");
}

/// The SQL-only extension, for self-hosted databases without the library, installs and works.
#[test]
#[ignore = "run by scripts/hosted-test, against a PostgreSQL without the extension's library"]
fn the_sql_only_extension_installs() {
    let dbname = format!("sqlonly_{}", unique_tag());
    hosted_connect("postgres")
        .expect("connect")
        .batch_execute(&format!("create database {dbname}"))
        .expect("create database");
    let mut db = hosted_connect(&dbname).expect("connect");
    db.batch_execute("create extension stripe_fdw_sql cascade")
        .expect("create extension stripe_fdw_sql");
    let tick: i64 = db
        .query_one("select stripe_fdw.read_tick()", &[])
        .expect("read_tick")
        .get(0);
    assert!(tick > 0);
    let err = db
        .batch_execute("call stripe_fdw.catch_up()")
        .err()
        .map(|e| describe(&e))
        .unwrap_or_default();
    assert!(err.is_empty() || err.contains("Edge Function") || err.contains("library"), "{err}");
    drop(db);
    let _ = hosted_connect("postgres")
        .expect("connect")
        .batch_execute(&format!("drop database {dbname}"));
}
