//! The e2e harness: a fake Stripe per test and a schema + server of its own in the shared cluster.
//!
//! The cluster comes from `scripts/pg-cluster start` (PGHOST, PGPORT, PGUSER, PGDATABASE and
//! STRIPE_FDW_PG_LOG in the environment); `make test` starts and stops it.

pub use fake_stripe::{
    Catalog, Config, FakeStripe, FaultConfig, FaultKind, FaultRule, HoldRule, HoldWhen, LogEntry,
    ACCOUNT_ID, DEFAULT_API_KEY,
};
use postgres::{Client, NoTls, Row};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

pub mod supabase;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A name part no other test of this run or of a concurrent run uses: `t<pid>_<n>`.
pub fn unique_tag() -> String {
    format!(
        "t{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// Notices and warnings a connection received, as "SEVERITY: message".
pub type Notices = Arc<Mutex<Vec<String>>>;

/// Connect to the test cluster.
pub fn connect() -> Client {
    connect_with_notices().0
}

/// Connect, collecting the notices and warnings the server sends.
pub fn connect_with_notices() -> (Client, Notices) {
    connect_db(None)
}

/// Connect to database `dbname` (None: PGDATABASE) as PGUSER, collecting notices and warnings.
pub fn connect_db(dbname: Option<&str>) -> (Client, Notices) {
    let var = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
    let db = dbname.map_or_else(|| var("PGDATABASE", "postgres"), str::to_string);
    connect_to(&var("PGUSER", "postgres"), &db)
}

/// Connect to database `dbname` of the test cluster as `user` (the cluster trusts local logins),
/// collecting notices and warnings.
pub fn connect_to(user: &str, dbname: &str) -> (Client, Notices) {
    let var = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
    let conn = format!(
        "host={} port={} user={user} dbname={dbname}",
        var("PGHOST", "127.0.0.1"),
        var("PGPORT", "5432"),
    );
    let notices: Notices = Arc::default();
    let sink = notices.clone();
    let client = conn
        .parse::<postgres::Config>()
        .map(|mut c| {
            c.notice_callback(move |n| {
                if let Ok(mut v) = sink.lock() {
                    v.push(format!("{}: {}", n.severity(), n.message()));
                }
            });
            c
        })
        .and_then(|c| c.connect(NoTls))
        .unwrap_or_else(|e| {
            panic!("cannot connect to the cluster ({conn}): {e}; `make test` starts one (or scripts/pg-cluster start)")
        });
    (client, notices)
}

/// One test's world: its fake Stripe, and schema `s` with foreign tables `s.products`, `s.prices`.
pub struct Env {
    pub fake: FakeStripe,
    pub db: Client,
    /// Schema holding the foreign tables.
    pub s: String,
    /// Foreign server name.
    pub server: String,
    pub key: String,
    /// What the server said besides results (NOTICE, WARNING), for tests that check there is none.
    pub notices: Notices,
    /// The database of its own this Env made (`Env::in_own_database`), dropped with it.
    pub own_database: Option<String>,
}

impl Env {
    /// A fake with `catalog`, a server with default options and a user mapping with the fake's key.
    pub fn new(catalog: Catalog) -> Env {
        Env::with(catalog, "", DEFAULT_API_KEY)
    }

    /// Like `new`, with extra server options (`"max_retries '2', request_timeout '1s'"`) and a key.
    pub fn with(catalog: Catalog, server_options: &str, key: &str) -> Env {
        Env::make(catalog, server_options, key, None)
    }

    /// Like `new`, in a database of its own, dropped with the Env: for what acts on every object
    /// of a database (`call stripe_fdw.sync()` of all targets, `refresh_all()`, pg_dump).
    pub fn in_own_database(catalog: Catalog) -> Env {
        let name = format!(
            "e2e_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        connect()
            .batch_execute(&format!("create database {name}"))
            .expect("create database");
        Env::make(catalog, "", DEFAULT_API_KEY, Some(name))
    }

    fn make(catalog: Catalog, server_options: &str, key: &str, own: Option<String>) -> Env {
        let fake = FakeStripe::start(Config {
            catalog,
            api_keys: vec![DEFAULT_API_KEY.to_string(), key.to_string()],
            ..Config::default()
        })
        .expect("start fake stripe");
        let (mut db, notices) = connect_db(own.as_deref());
        let tag = unique_tag();
        let s = format!("stripe_{tag}");
        let server = format!("srv_{tag}");
        // Extension and wrapper are shared by all tests: create them under a lock held until commit
        // (the batch is one implicit transaction).
        db.batch_execute(
            "select pg_advisory_xact_lock(4242);
             create extension if not exists stripe_fdw;
             do $$ begin
               if not exists (select 1 from pg_foreign_data_wrapper where fdwname = 'stripe_wrapper') then
                 create foreign data wrapper stripe_wrapper handler stripe_fdw_handler validator stripe_fdw_validator;
               end if;
             end $$;",
        )
        .expect("extension setup");
        let extra = if server_options.is_empty() {
            String::new()
        } else {
            format!(", {server_options}")
        };
        db.batch_execute(&format!(
            "create server {server} foreign data wrapper stripe_wrapper options (api_url '{}'{extra});
             create user mapping for current_user server {server} options (api_key '{key}');
             create schema {s};
             import foreign schema stripe from server {server} into {s};",
            fake.base_url()
        ))
        .expect("server setup");
        Env {
            fake,
            db,
            s,
            server,
            key: key.to_string(),
            notices,
            own_database: own,
        }
    }

    pub fn query(&mut self, sql: &str) -> Vec<Row> {
        let sql = self.sql(sql);
        self.db
            .query(sql.as_str(), &[])
            .unwrap_or_else(|e| panic!("{sql}: {}", describe(&e)))
    }

    /// Run a query that must fail; returns the database error.
    pub fn error(&mut self, sql: &str) -> DbErr {
        let sql = self.sql(sql);
        match self.db.batch_execute(sql.as_str()) {
            Ok(()) => panic!("expected an error from: {sql}"),
            Err(e) => DbErr::from(&e),
        }
    }

    pub fn exec(&mut self, sql: &str) {
        let sql = self.sql(sql);
        self.db
            .batch_execute(sql.as_str())
            .unwrap_or_else(|e| panic!("{sql}: {}", describe(&e)));
    }

    /// First column of every row, as text.
    pub fn strings(&mut self, sql: &str) -> Vec<String> {
        self.query(sql)
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect()
    }

    /// `{s}` in SQL stands for this test's schema, `{server}` for its server.
    pub fn sql(&self, sql: &str) -> String {
        sql.replace("{s}", &self.s)
            .replace("{server}", &self.server)
    }

    /// The API requests the fake served, and clear the log.
    pub fn take_log(&self) -> Vec<LogEntry> {
        let log = self.fake.log();
        self.fake.clear_log();
        log
    }

    pub fn postmaster_start(&mut self) -> String {
        self.db
            .query_one("select pg_postmaster_start_time()::text", &[])
            .expect("start time")
            .get(0)
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = self.db.batch_execute(&format!(
            "drop schema if exists {} cascade; drop server if exists {} cascade;",
            self.s, self.server
        ));
        if let Some(name) = &self.own_database {
            let _ =
                connect().batch_execute(&format!("drop database if exists {name} with (force)"));
        }
    }
}

/// The parts of a database error a test looks at.
#[derive(Debug, Clone)]
pub struct DbErr {
    pub code: String,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

impl DbErr {
    pub fn all_text(&self) -> String {
        format!(
            "{} {} {}",
            self.message,
            self.detail.clone().unwrap_or_default(),
            self.hint.clone().unwrap_or_default()
        )
    }
}

impl From<&postgres::Error> for DbErr {
    fn from(e: &postgres::Error) -> Self {
        match e.as_db_error() {
            Some(d) => DbErr {
                code: d.code().code().to_string(),
                message: d.message().to_string(),
                detail: d.detail().map(str::to_string),
                hint: d.hint().map(str::to_string),
            },
            None => DbErr {
                code: String::new(),
                message: e.to_string(),
                detail: None,
                hint: None,
            },
        }
    }
}

pub fn describe(e: &postgres::Error) -> String {
    let d = DbErr::from(e);
    format!(
        "[{}] {} (detail: {:?}, hint: {:?})",
        d.code, d.message, d.detail, d.hint
    )
}

/// The value of query parameter `name` in a logged request.
pub fn param<'a>(entry: &'a LogEntry, name: &str) -> Option<&'a str> {
    entry
        .query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A generated catalog of `products` products with `prices` prices each.
pub fn generated(products: usize, prices: usize) -> Catalog {
    Catalog::Generated {
        products,
        prices_per_product: prices,
        seed: 7,
    }
}

/// A fault rule of `kind` with every other field at its default (fires on every request).
pub fn rule(kind: FaultKind) -> FaultRule {
    FaultRule {
        kind,
        status: None,
        should_retry: None,
        retry_after: None,
        after: 0,
        count: None,
        path_prefix: None,
        method: None,
        size_bytes: None,
    }
}

impl Env {
    /// A Stripe API call to this test's fake (`path` like `/products/prod_x`, `form` url-encoded),
    /// as the app or the dashboard would make it. Returns the status and the JSON body.
    pub fn stripe(&self, method: &str, path: &str, form: &str) -> (u16, serde_json::Value) {
        let req = ureq::request(method, &format!("{}{path}", self.fake.base_url()))
            .set("Authorization", &format!("Bearer {DEFAULT_API_KEY}"))
            .set("Content-Type", "application/x-www-form-urlencoded");
        let resp = match if method == "GET" {
            req.call()
        } else {
            req.send_string(form)
        } {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = resp.status();
        let body = resp.into_string().unwrap_or_default();
        (
            status,
            serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
        )
    }
}

/// `select id ... where cond` through the FDW (pushdown) must equal the full scan filtered by
/// Postgres (a materialized CTE pushes nothing). Returns the ids and the pushed query's requests.
pub fn same_as_full_scan(env: &mut Env, table: &str, cond: &str) -> (Vec<String>, Vec<LogEntry>) {
    env.take_log();
    let pushed = env.strings(&format!(
        "select id from {{s}}.{table} where {cond} order by id"
    ));
    let log = env.take_log();
    let full = env.strings(&format!(
        "with every_row as materialized (select * from {{s}}.{table}) select id from every_row where {cond} order by id"
    ));
    env.take_log();
    assert_eq!(pushed, full, "{table} where {cond}");
    (full, log)
}
