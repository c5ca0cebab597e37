//! Postgres side: connecting, the foreign server and schema, and timing fully drained queries.

use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use postgres::Client;
use std::time::{Duration, Instant};

/// Connect with PGHOST / PGPORT / PGUSER / PGDATABASE (as printed by `scripts/pg-cluster start`).
pub use e2e::connect;

/// Create the extension, wrapper, server `bench_srv` on `base_url` and schema `bench` of foreign tables.
pub fn setup(db: &mut Client, base_url: &str, api_key: &str) {
    db.batch_execute(&format!(
        "create extension if not exists stripe_fdw;
         drop schema if exists bench cascade;
         drop server if exists bench_srv cascade;
         do $$ begin
           if not exists (select 1 from pg_foreign_data_wrapper where fdwname = 'stripe_wrapper') then
             create foreign data wrapper stripe_wrapper handler stripe_fdw_handler validator stripe_fdw_validator;
           end if;
         end $$;
         create server bench_srv foreign data wrapper stripe_wrapper options (api_url '{base_url}');
         create user mapping for current_user server bench_srv options (api_key '{api_key}');
         create schema bench;
         import foreign schema stripe from server bench_srv into bench;"
    ))
    .expect("server setup");
    pin_library(db);
}

/// Point the extension's C functions at a private copy of the release library
/// (`STRIPE_FDW_BENCH_SO`, set by `scripts/bench`), so a concurrent `cargo pgrx install` of another
/// build into `$libdir` cannot change what is measured. Takes effect in backends started afterwards.
fn pin_library(db: &mut Client) {
    if let Ok(so) = std::env::var("STRIPE_FDW_BENCH_SO") {
        db.batch_execute(&format!(
            "update pg_catalog.pg_proc set probin = '{so}' where probin = '$libdir/stripe_fdw'"
        ))
        .expect("pin library");
    }
}

/// The stripe_fdw library files a backend has mapped (from /proc/<pid>/maps).
pub fn mapped_library(pid: i32) -> String {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
    let pinned = std::env::var("STRIPE_FDW_BENCH_SO").ok();
    let mut libs: Vec<&str> = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter(|p| p.contains("stripe_fdw") || Some(*p) == pinned.as_deref())
        .collect();
    libs.sort();
    libs.dedup();
    if libs.is_empty() {
        "none".into()
    } else {
        libs.join(", ")
    }
}

/// The backend pid of a connection.
pub fn backend_pid(db: &mut Client) -> i32 {
    db.query_one("select pg_backend_pid()", &[])
        .expect("pid")
        .get(0)
}

/// Run `sql` and stream every row to this client (rows are received, not decoded); returns the count.
pub fn drain(db: &mut Client, sql: &str) -> u64 {
    let mut rows = db
        .query_raw(sql, std::iter::empty::<&dyn ToSql>())
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let mut n = 0;
    while rows.next().expect("row").is_some() {
        n += 1;
    }
    n
}

/// Time a fully drained query.
pub fn timed(db: &mut Client, sql: &str) -> (u64, Duration) {
    let started = Instant::now();
    let n = drain(db, sql);
    (n, started.elapsed())
}

/// The median time of `runs` runs of a query, and the rows of the last run.
pub fn timed_median(db: &mut Client, sql: &str, runs: usize) -> (u64, Duration) {
    let mut rows = 0;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let (n, d) = timed(db, sql);
        rows = n;
        times.push(d);
    }
    (rows, median(times))
}

/// Time a batch of statements (no rows expected).
pub fn timed_batch(db: &mut Client, sql: &str) -> Duration {
    let started = Instant::now();
    db.batch_execute(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    started.elapsed()
}

/// `VmHWM` (peak resident set) of a process, in kB.
pub fn vm_hwm_kb(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM line")
}

/// The median of some durations.
pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}
