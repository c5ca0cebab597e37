//! `make bench-peer` (issue 21): Supabase Wrappers' Stripe wrapper and stripe_fdw side by side in
//! one cluster against the fake, alternating, with the plain floor beside them; backend memory and
//! bytes on the wire.

use crate::db::{backend_pid, connect, drain, median, timed, vm_hwm_kb};
use crate::peer_report::{Cell, Report, Row};
use crate::peer_setup::{OURS, WRAPPERS};
use crate::plainfloor::{Floor, Read};
use crate::Ctx;
use fake_stripe::DEFAULT_API_KEY;
use std::time::Duration;

/// The three queries of each table: label, what the floor reads, SQL with `{t}` for the table.
fn queries(table: &str) -> [(&'static str, Read, String); 3] {
    let cols = if table == "products" {
        "id, name, active, created"
    } else {
        "id, product, unit_amount, created"
    };
    [
        ("count(*)", Read::Count, "select count(*) from {t}".into()),
        (
            "a few columns",
            Read::Columns,
            format!("select {cols} from {{t}}"),
        ),
        (
            "attrs",
            Read::Attrs,
            "select sum(length(attrs::text)) from {t}".into(),
        ),
    ]
}

/// `select ... from <schema>.<table>`.
fn sql(template: &str, schema: &str, table: &str) -> String {
    template.replace("{t}", &format!("{schema}.{table}"))
}

/// One query on every system, `runs` rounds, each round running all systems in turn.
fn compare(
    ctx: &mut Ctx,
    table: &str,
    latency: u64,
    q: &(&'static str, Read, String),
    runs: usize,
) -> Row {
    let floor = Floor::new(&ctx.fake.base_url(), DEFAULT_API_KEY, true);
    let mut systems: Vec<(&str, String)> = vec![(WRAPPERS.0, sql(&q.2, WRAPPERS.1, table))];
    systems.extend(OURS.iter().map(|(l, s, _)| (*l, sql(&q.2, s, table))));
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); systems.len() + 1];
    let mut requests = vec![0usize; systems.len() + 1];
    let mut rows = vec![0u64; systems.len() + 1];
    for _ in 0..runs {
        for (i, (_, s)) in systems.iter().enumerate() {
            ctx.fake.clear_log();
            let (n, d) = timed(&mut ctx.db, s);
            times[i].push(d);
            rows[i] = n;
            requests[i] = ctx.fake.log().len();
        }
        ctx.fake.clear_log();
        let (n, d) = floor.scan(table, q.1);
        let last = systems.len();
        times[last].push(d);
        rows[last] = n;
        requests[last] = ctx.fake.log().len();
    }
    let cells = times
        .into_iter()
        .zip(requests)
        .map(|(t, requests)| Cell {
            time: median(t),
            requests,
        })
        .collect();
    println!("[peer] {table} {} at {latency} ms: rows {rows:?}", q.0);
    Row {
        table: table.to_string(),
        query: q.0,
        latency,
        runs,
        cells,
    }
}

/// The foreign scan's `Output:` line in `EXPLAIN VERBOSE` of stripe_fdw's count(*) (the columns
/// it converts), or a note that it has none.
fn count_output(ctx: &mut Ctx, table: &str) -> String {
    let plan = ctx
        .db
        .query(
            &format!("explain verbose select count(*) from ours.{table}"),
            &[],
        )
        .expect("explain");
    plan.iter()
        .map(|r| r.get::<_, String>(0))
        .skip_while(|l| !l.contains("Foreign Scan"))
        .find(|l| l.trim_start().starts_with("Output:"))
        .map_or_else(
            || "the Foreign Scan has no Output line (no column)".to_string(),
            |l| l.trim().to_string(),
        )
}

/// Peak RSS (VmHWM) of a fresh backend before and after one query, in kB.
fn peak(schema: &str, table: &str) -> (u64, u64) {
    let mut db = connect();
    let pid = backend_pid(&mut db);
    drain(&mut db, &format!("select id from {schema}.{table} limit 1"));
    let before = vm_hwm_kb(pid);
    drain(&mut db, &format!("select attrs from {schema}.{table}"));
    (before, vm_hwm_kb(pid))
}

/// Bytes the fake sent for one products scan (every page), with and without gzip.
fn wire(ctx: &mut Ctx, report: &mut Report) {
    let base = ctx.fake.base_url();
    for (table, _) in crate::peer_setup::TABLES {
        let mut line = format!("{table}:");
        for gzip in [false, true] {
            ctx.fake.clear_bytes_sent();
            Floor::new(&base, DEFAULT_API_KEY, gzip).scan(table, Read::Count);
            let what = if gzip { "gzip" } else { "identity" };
            line.push_str(&format!(
                " floor {what} {:.2} MB;",
                ctx.fake.bytes_sent() as f64 / 1e6
            ));
        }
        for (label, schema) in [(WRAPPERS.0, WRAPPERS.1), (OURS[0].0, OURS[0].1)] {
            ctx.fake.clear_bytes_sent();
            drain(
                &mut ctx.db,
                &format!("select count(*) from {schema}.{table}"),
            );
            line.push_str(&format!(
                " {label} {:.2} MB;",
                ctx.fake.bytes_sent() as f64 / 1e6
            ));
        }
        report.notes.push(line);
    }
}

pub fn run(ctx: &mut Ctx) -> Report {
    let (n, m) = (ctx.args.products, ctx.args.prices_per_product);
    let runs = ctx.args.peer_runs;
    let mut report = Report::default();
    ctx.catalog(n, m, 0);
    for (table, _) in crate::peer_setup::TABLES {
        timed(
            &mut ctx.db,
            &format!("select * from {}.{table} limit 1", WRAPPERS.1),
        );
        for q in queries(table) {
            report.rows.push(compare(ctx, table, 0, &q, runs));
        }
        let out = count_output(ctx, table);
        report.notes.push(format!(
            "EXPLAIN VERBOSE of stripe_fdw's count(*) from {table}: `{out}`"
        ));
    }
    wire(ctx, &mut report);
    for (table, _) in crate::peer_setup::TABLES {
        let mut line = format!("backend VmHWM before -> after `select attrs from {table}`:");
        for (label, schema) in [(WRAPPERS.0, WRAPPERS.1), (OURS[0].0, OURS[0].1)] {
            let (b, a) = peak(schema, table);
            line.push_str(&format!(
                " {label} {:.1} -> {:.1} MB (+{:.1} MB);",
                b as f64 / 1024.0,
                a as f64 / 1024.0,
                a.saturating_sub(b) as f64 / 1024.0
            ));
            report.memory.push((table.to_string(), label, b, a));
        }
        println!("[peer] {line}");
    }
    let lat = ctx.args.peer_latency_ms;
    if lat > 0 {
        ctx.catalog(n, m, lat);
        let q = &queries("products")[1];
        report
            .rows
            .push(compare(ctx, "products", lat, q, ctx.args.peer_latency_runs));
        ctx.catalog(n, m, 0);
    }
    report
}
