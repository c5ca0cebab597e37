//! The hosted-Supabase harness (tests/e2e/tests/hosted.rs, hosted_wrappers.rs): a database of a
//! PostgreSQL without the extension's library, the migration applied, the stripe-sync function
//! serving it, and the extension's foreign tables on the same fake Stripe as the oracle.
#![allow(dead_code)]

use crate::starter::{live_rows, synced_rows, MIGRATIONS};
use e2e::*;
use postgres::{Client, NoTls};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The worker's bearer secret the tests give the function.
pub const WORKER_SECRET: &str = "worker-secret-0123456789abcdef";

pub fn var(k: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set: run scripts/hosted-test"))
}

/// A database of the hosted cluster, with the migration applied and the starter's tables
/// registered as docs/hosted-supabase.md says; the stripe-sync function serving it; and, on the
/// same fake Stripe, the extension's foreign tables (`oracle`) that say what Stripe holds.
pub struct Hosted {
    pub oracle: Env,
    pub db: Client,
    pub dbname: String,
    /// The role that owns the database (no superuser) and that the function connects as.
    pub owner: String,
    pub function: Child,
    pub url: String,
}

impl Drop for Hosted {
    fn drop(&mut self) {
        let _ = self.function.kill();
        let _ = self.function.wait();
        if let Ok(mut admin) = hosted_connect("postgres", "postgres") {
            let _ = admin.batch_execute(&format!(
                "select pg_terminate_backend(pid) from pg_stat_activity where datname = '{0}';
                 drop database if exists {0};
                 drop role if exists {1}",
                self.dbname, self.owner
            ));
        }
    }
}

pub fn hosted_connect(user: &str, dbname: &str) -> Result<Client, postgres::Error> {
    Client::connect(
        &format!(
            "host={} port={} user={user} dbname={dbname}",
            var("HOSTED_PGHOST"),
            var("HOSTED_PGPORT")
        ),
        NoTls,
    )
}

/// The first SQL block of docs/hosted-supabase.md after the line `after`.
pub fn doc_sql(after: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/hosted-supabase.md");
    let doc = std::fs::read_to_string(path).expect("docs/hosted-supabase.md");
    doc.split(after)
        .nth(1)
        .and_then(|a| a.split("```sql").nth(1))
        .and_then(|b| b.split("```").next())
        .unwrap_or_else(|| panic!("no SQL block after {after} in docs/hosted-supabase.md"))
        .to_string()
}

/// The SQL block of docs/hosted-supabase.md after the tested marker.
pub fn doc_block() -> String {
    doc_sql("<!-- tested: tests/e2e/tests/hosted.rs -->")
}

impl Hosted {
    /// With the starter's tables registered as docs/hosted-supabase.md says.
    pub fn new(catalog: Catalog, max_requests: u32) -> Hosted {
        Hosted::with(catalog, max_requests, "", &doc_block())
    }

    /// A database owned by a role of its own that is no superuser (as Supabase's `postgres`),
    /// which applies the migration, the starter's migrations and `setup`, and which the function
    /// connects as; `admin_setup` runs first, as a superuser (what the platform does).
    pub fn with(catalog: Catalog, max_requests: u32, admin_setup: &str, setup: &str) -> Hosted {
        let oracle = Env::in_own_database(catalog);
        let tag = unique_tag();
        let dbname = format!("hosted_{tag}");
        let owner = format!("owner_{tag}");
        let mut admin =
            hosted_connect("postgres", "postgres").expect("connect to the hosted cluster");
        admin
            .batch_execute(&format!("create role {owner} login nosuperuser"))
            .expect("create role");
        admin
            .batch_execute(&format!("create database {dbname} owner {owner}"))
            .expect("create database");
        let fake = oracle.fake.base_url();
        hosted_connect("postgres", &dbname)
            .expect("connect")
            .batch_execute(
                &admin_setup
                    .replace("{fake}", &fake)
                    .replace("{owner}", &owner),
            )
            .unwrap_or_else(|e| panic!("the platform's setup: {}", describe(&e)));
        let mut db = hosted_connect(&owner, &dbname).expect("connect");
        let migration = std::fs::read_to_string(var("HOSTED_MIGRATION"))
            .expect("the migration scripts/sql-only --migration wrote");
        db.batch_execute(&migration).unwrap_or_else(|e| {
            panic!(
                "the migration, as a role that is no superuser: {}",
                describe(&e)
            )
        });
        db.batch_execute(MIGRATIONS)
            .expect("the starter's migrations");
        db.batch_execute(&setup.replace("{fake}", &fake))
            .unwrap_or_else(|e| panic!("the setup: {}", describe(&e)));
        let (function, url) = start_function(&oracle, &owner, &dbname, max_requests);
        Hosted {
            oracle,
            db,
            dbname,
            owner,
            function,
            url,
        }
    }

    /// POST /setup for the function's own webhook route, which must succeed: its answer, and the
    /// signing secret the fake issued for the endpoint it made.
    pub fn setup_endpoint(&self) -> (Value, String) {
        let (status, body) = self.post(
            "setup",
            Some(WORKER_SECRET),
            &format!(r#"{{"url": "{}/webhook"}}"#, self.url),
        );
        assert_eq!(status, 200, "setup: {body}");
        let id = body["id"].as_str().expect("the endpoint's id").to_string();
        let secret = self
            .oracle
            .fake
            .endpoint_secret(&id)
            .expect("the endpoint's secret");
        (body, secret)
    }

    pub fn post(&self, route: &str, auth: Option<&str>, body: &str) -> (u16, Value) {
        let mut req =
            ureq::post(&format!("{}/{route}", self.url)).timeout(Duration::from_secs(120));
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
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// One worker run, as pg_cron's job starts it through pg_net.
    pub fn worker(&self) -> Value {
        let (status, body) = self.post("worker", Some(WORKER_SECRET), "{}");
        assert_eq!(status, 200, "worker: {body}");
        body
    }

    /// Worker runs until one has nothing left of a full sync to do.
    pub fn worker_until_done(&self) {
        for _ in 0..50 {
            let _ = self.worker();
            if self.plan()["do"] != "sync_page" && self.plan()["do"] != "sync_finish" {
                return;
            }
        }
        panic!("the worker did not finish in 50 runs");
    }

    pub fn plan(&self) -> Value {
        let mut db = hosted_connect(&self.owner, &self.dbname).expect("connect");
        db.query_one("select stripe_fdw.worker_plan('stripe')", &[])
            .expect("worker_plan")
            .get(0)
    }

    /// Run statements (simple protocol: CALL, several statements).
    pub fn exec(&mut self, sql: &str) {
        self.db
            .batch_execute(sql)
            .unwrap_or_else(|e| panic!("{sql}: {}", describe(&e)));
    }

    pub fn q(&mut self, sql: &str) -> Vec<postgres::Row> {
        self.db
            .query(sql, &[])
            .unwrap_or_else(|e| panic!("{sql}: {}", describe(&e)))
    }

    pub fn int(&mut self, sql: &str) -> i64 {
        self.q(sql)[0].get(0)
    }

    /// The starter's tables hold what Stripe holds (read live by the extension).
    pub fn assert_in_sync(&mut self, when: &str) {
        let [live_products, live_prices] = live_rows(&mut self.oracle);
        let [products, prices] = synced_rows(&mut self.db);
        assert_eq!(
            products, live_products,
            "{when}: products as Stripe has them"
        );
        assert_eq!(prices, live_prices, "{when}: prices as Stripe has them");
    }

    pub fn stripe(&self, method: &str, path: &str, form: &str) -> Value {
        let (status, body) = self.oracle.stripe(method, path, form);
        assert_eq!(status, 200, "{method} {path} {form}: {body}");
        body
    }

    /// The newest event of `kind` about `id`.
    pub fn event_for(&self, kind: &str, id: &str) -> String {
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
    pub fn deliver(&self, event: &str, secret: &str) -> u16 {
        self.oracle
            .fake
            .send_webhook(event, &format!("{}/webhook", self.url), secret, None)
            .unwrap_or_else(|e| panic!("deliver {event}: {e}"))
    }
}

/// Start the function (tests/hosted/run-function) for database `dbname` and the oracle's fake.
pub fn start_function(
    oracle: &Env,
    user: &str,
    dbname: &str,
    max_requests: u32,
) -> (Child, String) {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let mut child = Command::new(format!("{root}/tests/hosted/run-function"))
        .env("DENO", var("DENO"))
        .env("STRIPE_API_KEY", DEFAULT_API_KEY)
        .env("STRIPE_API_BASE", oracle.fake.root_url())
        .env(
            "SUPABASE_DB_URL",
            format!(
                "postgres://{user}@{}:{}/{dbname}",
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
