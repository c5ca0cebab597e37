//! The prepared-statement tax: does reading a foreign table cost the connection's other cached
//! plans anything? A prepared 6-table catalog join is timed alone, then with a stripe_fdw lookup
//! run between its executions on the same connection (which once invalidated every cached plan).

use crate::Ctx;
use std::time::{Duration, Instant};

/// A join of six catalog tables, prepared once (the extended protocol keeps its plan).
const JOIN: &str = "select c.relname, n.nspname, a.attname, t.typname, r.rolname, d.description
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
  join pg_attribute a on a.attrelid = c.oid and a.attnum > 0
  join pg_type t on t.oid = a.atttypid
  join pg_roles r on r.oid = c.relowner
  left join pg_description d on d.objoid = c.oid and d.objsubid = 0
 where c.relname = $1";

const RUNS: usize = 400;

fn mean(total: Duration) -> Duration {
    total / RUNS as u32
}

pub fn run(ctx: &mut Ctx) {
    ctx.catalog(20, 1, 0);
    let join = ctx.db.prepare(JOIN).expect("prepare join");
    let lookup = ctx
        .db
        .prepare("select name from bench.products where id = $1")
        .expect("prepare lookup");
    let id: String = ctx
        .db
        .query_one("select id from bench.products limit 1", &[])
        .expect("an id")
        .get(0);
    let rel = "pg_class";
    // Warm both plans and caches.
    for _ in 0..20 {
        ctx.db.query(&join, &[&rel]).expect("join");
        ctx.db.query(&lookup, &[&id]).expect("lookup");
    }
    let mut alone = Duration::ZERO;
    for _ in 0..RUNS {
        let t = Instant::now();
        ctx.db.query(&join, &[&rel]).expect("join");
        alone += t.elapsed();
    }
    let mut between = Duration::ZERO;
    for _ in 0..RUNS {
        ctx.db.query(&lookup, &[&id]).expect("lookup");
        let t = Instant::now();
        ctx.db.query(&join, &[&rel]).expect("join");
        between += t.elapsed();
    }
    let (a, b) = (mean(alone), mean(between));
    let ratio = b.as_secs_f64() / a.as_secs_f64().max(1e-9);
    ctx.line(
        "plan cache",
        format!("prepared 6-table catalog join, mean of {RUNS} runs, alone"),
        format!("{:.3} ms", a.as_secs_f64() * 1000.0),
    );
    ctx.target(
        "plan cache",
        "the same join with a stripe_fdw lookup between its runs".into(),
        format!("{:.3} ms ({ratio:.2}x)", b.as_secs_f64() * 1000.0),
        "<= 1.10x".into(),
        Some(ratio <= 1.10),
    );
}
