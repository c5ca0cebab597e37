//! The side-by-side table of `make bench-peer`, written into bench/results.md between markers (the
//! rest of that file, from `make bench`, is kept).

use crate::peer_setup::{OURS, WRAPPERS};
use std::fmt::Write as _;
use std::time::Duration;

/// A median time and the requests of the last run.
pub struct Cell {
    pub time: Duration,
    pub requests: usize,
}

/// One query at one latency: Wrappers, stripe_fdw at each max_concurrency, then the floor.
pub struct Row {
    pub table: String,
    pub query: &'static str,
    pub latency: u64,
    pub runs: usize,
    pub cells: Vec<Cell>,
}

#[derive(Default)]
pub struct Report {
    pub rows: Vec<Row>,
    /// (table, system, VmHWM kB before, after).
    pub memory: Vec<(String, &'static str, u64, u64)>,
    pub notes: Vec<String>,
}

const BEGIN: &str = "<!-- bench-peer: begin (written by scripts/bench-peer) -->";
const END: &str = "<!-- bench-peer: end -->";

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

/// The targets for a row: (label, ratio to Wrappers, limit).
fn targets(r: &Row) -> Vec<(&'static str, f64, f64)> {
    let w = r.cells[0].time;
    let of = |i: usize| ratio(r.cells[i].time, w);
    if r.latency == 0 {
        vec![("defaults", of(1), 0.7), ("max_concurrency 1", of(2), 1.0)]
    } else {
        vec![("max_concurrency 4", of(1), 0.3)]
    }
}

pub fn markdown(report: &Report, header: &str) -> String {
    let mut out = format!(
        "{BEGIN}\n## Side by side with Supabase Wrappers (`make bench-peer`)\n\n{header}\n"
    );
    out.push_str(&format!("| table | query | latency | {} |", WRAPPERS.0));
    for (label, _, _) in OURS {
        out.push_str(&format!(" {label} |"));
    }
    out.push_str(" floor | targets |\n| --- | --- | --- | --- |");
    out.push_str(&" --- |".repeat(OURS.len() + 2));
    out.push('\n');
    for r in &report.rows {
        let (w, floor) = (r.cells[0].time, r.cells[r.cells.len() - 1].time);
        let _ = write!(
            out,
            "| {} | {} | {} ms (median of {}) | {} ({:.2}x floor; {} req) |",
            r.table,
            r.query,
            r.latency,
            r.runs,
            ms(w),
            ratio(w, floor),
            r.cells[0].requests
        );
        for c in &r.cells[1..r.cells.len() - 1] {
            let _ = write!(
                out,
                " {} (**{:.2}x** Wrappers, {:.2}x floor; {} req) |",
                ms(c.time),
                ratio(c.time, w),
                ratio(c.time, floor),
                c.requests
            );
        }
        let _ = write!(
            out,
            " {} ({} req) |",
            ms(floor),
            r.cells[r.cells.len() - 1].requests
        );
        let verdicts: Vec<String> = targets(r)
            .into_iter()
            .map(|(l, x, max)| {
                let v = if x <= max { "MET" } else { "MISSED" };
                format!("{l} <= {max}x: {v}")
            })
            .collect();
        let _ = writeln!(out, " {} |", verdicts.join("; "));
    }
    out.push_str("\n| table | system | backend VmHWM before | after `select attrs` | growth |\n");
    out.push_str("| --- | --- | --- | --- | --- |\n");
    for (t, s, b, a) in &report.memory {
        let mb = |kb: u64| format!("{:.1} MB", kb as f64 / 1024.0);
        let _ = writeln!(
            out,
            "| {t} | {s} | {} | {} | {} |",
            mb(*b),
            mb(*a),
            mb(a.saturating_sub(*b))
        );
    }
    out.push('\n');
    for n in &report.notes {
        let _ = writeln!(out, "- {n}");
    }
    out.push_str(METHOD);
    out.push_str(END);
    out.push('\n');
    out
}

/// Replace the section in `path` (or append it).
pub fn write(path: &str, section: &str) {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if e > b => {
            format!(
                "{}{}{}",
                &old[..b],
                section,
                old[e + END.len()..].trim_start_matches('\n')
            )
        }
        _ => format!("{old}\n{section}"),
    };
    std::fs::write(path, new).expect("write results");
}

const METHOD: &str = "
Method: one PostgreSQL 15 cluster of a private prefix holding both release builds (Wrappers 0.6.2
cut to its Stripe wrapper, from ../shared/peers/wrappers-stripe, and this tree); the fake Stripe in
the bench process (10,000 products x 3 prices); the same column list for both (`timestamp`
columns, as Wrappers declares them). Each round runs Wrappers, stripe_fdw at each max_concurrency
(a server each), then the floor, in turn; the figure is the median of the rounds, wall time on the
client with every row received. The floor is `bench/src/plainfloor.rs`: blocking reqwest with
keep-alive and gzip, serde_json into typed structs (only the id for count(*), the queried columns,
or a `Value` per object for attrs). Requests are counted from the fake's log of the last round.
Memory: a fresh backend's VmHWM after `select ... limit 1` and after `select attrs` of the table.
";
