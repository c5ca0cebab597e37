//! Full scans through the FDW against the Postgres-free floor, and time to the first row.

use crate::db::{median, timed, timed_batch};
use crate::floor;
use crate::report::ms;
use crate::Ctx;
use fake_stripe::DEFAULT_API_KEY;
use std::time::Duration;

const RUNS: usize = 5;

/// FDW vs floor for products and prices at the current catalog (`n` products, `m` prices each).
pub fn full(ctx: &mut Ctx, n: usize, m: usize, latency_ms: u64) {
    let client = floor::client(&ctx.transport, &ctx.fake.base_url(), DEFAULT_API_KEY);
    let limit = if latency_ms == 0 { 1.3 } else { 1.05 };
    timed(&mut ctx.db, "select * from bench.products limit 1");
    for (table, rows) in [("products", n), ("prices", n * m)] {
        let sql = format!("select * from bench.{table}");
        let mut fdw = Vec::new();
        let mut fdw_requests = 0;
        for _ in 0..RUNS {
            ctx.fake.clear_log();
            let (got, d) = timed(&mut ctx.db, &sql);
            assert_eq!(got as usize, rows, "{sql}: row count");
            fdw_requests = ctx.fake.log().len();
            fdw.push(d);
        }
        let mut base = Vec::new();
        let mut base_requests = 0;
        for _ in 0..RUNS {
            let s = floor::scan(&client, table);
            assert_eq!(s.rows as usize, rows, "floor {table}: row count");
            base_requests = s.requests;
            base.push(s.elapsed);
        }
        let (f, b) = (median(fdw), median(base));
        let ratio = f.as_secs_f64() / b.as_secs_f64();
        let what = format!("{table}: {rows} rows, {latency_ms} ms/request");
        ctx.line(
            "full scan",
            format!("{what}, FDW ({fdw_requests} requests)"),
            ms(f),
        );
        ctx.line(
            "full scan",
            format!("{what}, floor ({base_requests} requests)"),
            ms(b),
        );
        if latency_ms == 0 {
            breakdown(ctx, table, &what);
        }
        ctx.target(
            "full scan",
            format!("{what}, FDW / floor"),
            format!("{ratio:.3}x"),
            format!("<= {limit}x"),
            Some(ratio <= limit),
        );
    }
}

/// Where the FDW's time goes: executor time without sending rows (EXPLAIN ANALYZE, timing off),
/// and the scan drained without the `attrs` jsonb column.
fn breakdown(ctx: &mut Ctx, table: &str, what: &str) {
    let spec = stripe_fdw_core::objects::find(table).expect("known object");
    let cols: Vec<&str> = spec
        .columns
        .iter()
        .filter(|c| !c.path.is_empty())
        .map(|c| c.name)
        .collect();
    let no_attrs = format!("select {} from bench.{table}", cols.join(", "));
    let explain = format!("explain (analyze, timing off) select * from bench.{table}");
    let (mut plain, mut exec) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        plain.push(timed(&mut ctx.db, &no_attrs).1);
        exec.push(execution_time(ctx, &explain));
    }
    ctx.line(
        "full scan",
        format!("{what}, FDW without the attrs column (diagnostic)"),
        ms(median(plain)),
    );
    ctx.line(
        "full scan",
        format!("{what}, FDW EXPLAIN ANALYZE execution time, no rows sent (diagnostic)"),
        ms(median(exec)),
    );
}

/// `Execution Time` of an EXPLAIN ANALYZE.
fn execution_time(ctx: &mut Ctx, sql: &str) -> Duration {
    let rows = ctx.db.query(sql, &[]).expect("explain");
    let ms: f64 = rows
        .iter()
        .map(|r| r.get::<_, String>(0))
        .find_map(|l| {
            l.trim()
                .strip_prefix("Execution Time:")
                .map(|v| v.trim().trim_end_matches("ms").trim().to_string())
        })
        .and_then(|v| v.parse().ok())
        .expect("Execution Time line");
    Duration::from_secs_f64(ms / 1000.0)
}

/// `LIMIT 1`, and `FETCH 1` from a cursor over the whole table.
pub fn first_row(ctx: &mut Ctx) {
    let mut lim = Vec::new();
    let mut lim_requests = 0;
    let mut cur = Vec::new();
    let mut cur_requests = 0;
    for _ in 0..5 {
        ctx.fake.clear_log();
        lim.push(timed(&mut ctx.db, "select * from bench.products limit 1").1);
        lim_requests = ctx.fake.log().len();
        ctx.fake.clear_log();
        let d: Duration = timed_batch(
            &mut ctx.db,
            "begin; declare c cursor for select * from bench.products; fetch 1 from c;",
        );
        cur_requests = ctx.fake.log().len();
        ctx.db.batch_execute("close c; commit;").expect("commit");
        cur.push(d);
    }
    ctx.line(
        "first row",
        format!("LIMIT 1 ({lim_requests} requests)"),
        ms(median(lim)),
    );
    ctx.line(
        "first row",
        format!(
            "cursor FETCH 1 over the full table, incl. BEGIN + DECLARE ({cur_requests} requests)"
        ),
        ms(median(cur)),
    );
}
