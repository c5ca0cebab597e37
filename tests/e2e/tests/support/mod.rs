//! A database of its own for a cache test (`Scratch`): for tests that dump it, restore it, run
//! `refresh_cache()` over every cache of the database, or plant functions in its `public` schema.
#![allow(dead_code)]

use e2e::*;
use postgres::{Client, NoTls};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A unique name for a database, role or file of this test process: `{stem}_{pid}_{n}`.
pub fn unique(stem: &str) -> String {
    format!(
        "{stem}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// Connect to database `dbname` of the test cluster.
pub fn connect_to(dbname: &str) -> Client {
    let var = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
    let conn = format!(
        "host={} port={} user={} dbname={dbname}",
        var("PGHOST", "127.0.0.1"),
        var("PGPORT", "5432"),
        var("PGUSER", "postgres"),
    );
    Client::connect(&conn, NoTls).unwrap_or_else(|e| panic!("cannot connect ({conn}): {e}"))
}

/// The bindir of the PostgreSQL the tests run against (`$PG_CONFIG --bindir`).
pub fn bindir() -> String {
    let pg_config = std::env::var("PG_CONFIG").unwrap_or_else(|_| "/usr/bin/pg_config".into());
    let out = std::process::Command::new(&pg_config)
        .arg("--bindir")
        .output()
        .unwrap_or_else(|e| panic!("{pg_config} --bindir: {e}"));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A new database with the extension, a server on a fake Stripe, a user mapping and the foreign
/// tables in schema `stripe` (so `env.s` is `stripe`); dropped with everything in it at the end.
pub struct Scratch {
    pub env: Option<Env>,
    pub name: String,
}

impl Scratch {
    pub fn new(catalog: Catalog) -> Scratch {
        let name = unique("cache_db");
        connect()
            .batch_execute(&format!("create database {name}"))
            .expect("create database");
        let fake = FakeStripe::start(Config {
            catalog,
            ..Config::default()
        })
        .expect("start fake stripe");
        let mut db = connect_to(&name);
        db.batch_execute(&format!(
            "create extension stripe_fdw;
             create foreign data wrapper stripe_wrapper handler stripe_fdw_handler validator stripe_fdw_validator;
             create server srv foreign data wrapper stripe_wrapper options (api_url '{}', max_retries '0');
             create user mapping for current_user server srv options (api_key '{DEFAULT_API_KEY}');
             create schema stripe;
             import foreign schema stripe from server srv into stripe;",
            fake.base_url()
        ))
        .expect("scratch setup");
        let notices: Notices = Arc::new(Mutex::new(Vec::new()));
        let env = Env {
            fake,
            db,
            s: "stripe".into(),
            server: "srv".into(),
            key: DEFAULT_API_KEY.into(),
            notices,
            own_database: None,
        };
        Scratch {
            env: Some(env),
            name,
        }
    }

    pub fn env(&mut self) -> &mut Env {
        self.env.as_mut().expect("the scratch database is open")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        drop(self.env.take());
        let _ = connect().batch_execute(&format!(
            "drop database if exists {} with (force)",
            self.name
        ));
    }
}
