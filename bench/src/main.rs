//! `bench`: stripe_fdw timings against the fake Stripe; run through `scripts/bench` (`make bench`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cache;
mod concurrency;
mod db;
mod floor;
mod memory;
mod peer;
mod peer_report;
mod peer_setup;
mod plainfloor;
mod plancache;
mod pushdown;
mod report;
mod scans;

use fake_stripe::{Catalog, Config, FakeStripe, FaultConfig, DEFAULT_API_KEY};
use report::Line;
use std::rc::Rc;
use std::time::Duration;
use stripe_fdw_core::client::Transport;

/// Command-line settings.
pub struct Args {
    pub products: usize,
    pub prices_per_product: usize,
    /// Products at 50 ms latency (smaller, to keep the run short).
    pub latency_products: usize,
    pub latency_ms: u64,
    pub mem_products: usize,
    /// Products of the concurrent full scans (at 50 and 300 ms a request).
    pub concurrent_products: usize,
    /// Only the Postgres-free rows of the concurrent scans (no database needed), at these latencies.
    pub core_only: bool,
    pub core_latencies: Vec<u64>,
    pub out: Option<String>,
    pub command: String,
    /// `--peer 1`: only the side-by-side run against Supabase Wrappers (`make bench-peer`).
    pub peer: bool,
    pub peer_runs: usize,
    pub peer_latency_ms: u64,
    pub peer_latency_runs: usize,
}

fn args() -> Args {
    let mut a = Args {
        products: 10_000,
        prices_per_product: 3,
        latency_products: 2_000,
        latency_ms: 50,
        mem_products: 100_000,
        concurrent_products: 10_000,
        core_only: false,
        core_latencies: vec![0, 50, 300],
        out: None,
        command: "cargo run --release -p bench".into(),
        peer: false,
        peer_runs: 7,
        peer_latency_ms: 100,
        peer_latency_runs: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_else(|| panic!("{k} needs a value"));
        let n = || {
            v.parse::<usize>()
                .unwrap_or_else(|_| panic!("{k}: bad number {v}"))
        };
        match k.as_str() {
            "--products" => a.products = n(),
            "--prices-per-product" => a.prices_per_product = n(),
            "--latency-products" => a.latency_products = n(),
            "--latency-ms" => a.latency_ms = n() as u64,
            "--mem-products" => a.mem_products = n(),
            "--concurrent-products" => a.concurrent_products = n(),
            "--core-only" => a.core_only = n() != 0,
            "--core-latencies" => {
                a.core_latencies = v
                    .split(',')
                    .map(|x| x.trim().parse().expect("latency in ms"))
                    .collect()
            }
            "--peer" => a.peer = n() != 0,
            "--peer-runs" => a.peer_runs = n(),
            "--peer-latency-ms" => a.peer_latency_ms = n() as u64,
            "--peer-latency-runs" => a.peer_latency_runs = n(),
            "--out" => a.out = Some(v),
            "--command" => a.command = v,
            _ => panic!("unknown argument {k}"),
        }
    }
    a
}

/// Shared state of one bench run.
pub struct Ctx {
    pub args: Args,
    pub fake: FakeStripe,
    pub db: postgres::Client,
    pub transport: Rc<Transport>,
    pub lines: Vec<Line>,
}

impl Ctx {
    /// Replace the fake's catalog and set its per-request latency.
    pub fn catalog(&self, products: usize, prices_per_product: usize, latency_ms: u64) {
        self.fake
            .reset(&Catalog::Generated {
                products,
                prices_per_product,
                seed: 42,
            })
            .expect("reset fake");
        self.fake.set_faults(FaultConfig {
            latency_ms,
            rules: vec![],
        });
    }

    pub fn line(&mut self, section: &'static str, what: String, figure: String) {
        self.target(section, what, figure, String::new(), None);
    }

    pub fn target(
        &mut self,
        section: &'static str,
        what: String,
        figure: String,
        target: String,
        met: Option<bool>,
    ) {
        println!("[{section}] {what}: {figure} {target}");
        self.lines.push(Line {
            section,
            what,
            figure,
            target,
            met,
        });
    }
}

fn main() {
    let args = args();
    let fake = FakeStripe::start(Config {
        port: 0,
        api_keys: vec![DEFAULT_API_KEY.into()],
        catalog: Catalog::Empty,
    })
    .expect("start fake stripe");
    if args.core_only {
        // `--core-only 1`: the concurrent scans through stripe_fdw_core alone, no Postgres.
        let transport = Rc::new(Transport::new(Duration::from_secs(10)).expect("transport"));
        let mut lines = Vec::new();
        let n = args.concurrent_products;
        concurrency::core(&fake, &transport, &mut lines, n, &args.core_latencies);
        println!("\n{}", report::table(&lines));
        return;
    }
    let mut db = db::connect();
    if args.peer {
        peer_setup::setup(&mut db, &fake.base_url(), DEFAULT_API_KEY);
        let transport = Rc::new(Transport::new(Duration::from_secs(10)).expect("transport"));
        let mut ctx = Ctx {
            args,
            fake,
            db,
            transport,
            lines: Vec::new(),
        };
        let report = peer::run(&mut ctx);
        let section = peer_report::markdown(&report, &report::header(&ctx.args.command));
        println!("\n{section}");
        if let Some(out) = &ctx.args.out {
            peer_report::write(out, &section);
            println!("wrote {out}");
        }
        return;
    }
    db::setup(&mut db, &fake.base_url(), DEFAULT_API_KEY);
    // A new backend, so that only the (pinned) library is loaded.
    drop(db);
    let db = db::connect();
    let transport = Rc::new(Transport::new(Duration::from_secs(10)).expect("transport"));
    let mut ctx = Ctx {
        args,
        fake,
        db,
        transport,
        lines: Vec::new(),
    };
    let (n, m) = (ctx.args.products, ctx.args.prices_per_product);
    ctx.catalog(n, m, 0);
    scans::full(&mut ctx, n, m, 0);
    let pid = db::backend_pid(&mut ctx.db);
    let lib = db::mapped_library(pid);
    ctx.line("setup", "library mapped by the bench backend".into(), lib);
    scans::first_row(&mut ctx);
    pushdown::run(&mut ctx);
    cache::run(&mut ctx);
    plancache::run(&mut ctx);
    let (ln, lat) = (ctx.args.latency_products, ctx.args.latency_ms);
    ctx.catalog(ln, m, lat);
    scans::full(&mut ctx, ln, m, lat);
    memory::run(&mut ctx);
    let cn = ctx.args.concurrent_products;
    concurrency::run(&mut ctx, cn);

    let table = report::table(&ctx.lines);
    println!("\n{table}");
    if let Some(out) = &ctx.args.out {
        // Hand-written findings (bench/analysis.md) are carried into every regenerated results.md.
        let analysis = std::fs::read_to_string("bench/analysis.md").unwrap_or_default();
        let doc = format!(
            "# stripe_fdw benchmark results\n\n{}\n{}\n{}\n{}",
            report::header(&ctx.args.command),
            table,
            NOTES,
            analysis
        );
        std::fs::write(out, doc).expect("write results");
        println!("wrote {out}");
    }
}

/// How the figures are taken, appended to results.md.
const NOTES: &str = "
## Method

- FDW full scan: `select * from bench.<table>` run through the `postgres` crate (binary protocol),
  every row streamed to the client and counted (not decoded); wall time on the client, median of 5.
- Floor: the same pages (the FDW's own full-scan plan: `limit=100`, `starting_after` chain) fetched
  with `stripe_fdw_core::client::Client::list_page` on one shared `Transport`, and every column
  extracted with `stripe_fdw_core::value::extract` (the object itself kept as `attrs`, as the FDW
  moves it); no Postgres. Median of 3.
- Time to first row: `select * from bench.products limit 1`, and `begin; declare c cursor for
  select * from bench.products;` + `fetch 1 from c` (timed together), median of 5.
- Requests: counted from the fake's request log around each query; time is the median of 5.
- Plan cache: a prepared 6-table join of catalog tables on the same connection, mean of 400 runs,
  alone and with a prepared stripe_fdw id lookup (one retrieve) run between its runs; only the
  join is timed.
- Memory: `VmHWM` of the backend (`pg_backend_pid()` on a fresh connection) after a full products
  scan; the fake is reset to each catalog size between the two runs.
- Concurrent scan: the products full scan with the server option `max_concurrency` 1, 4 and 8 at
  50 and 300 ms a request, each as a ratio to the sequential floor (the floor above, at the same
  latency); the FDW row sets the option with `alter server`, the core row runs
  `stripe_fdw_core::client::ListScan` with the same extraction as the floor. Median of 3 at 50 ms,
  one run at 300 ms (30 s a sequential scan, all of it latency). `cargo run --release -p bench --
  --core-only 1 [--core-latencies 0,50,300]` prints the core rows (also at 0 ms) without Postgres.
- The fake Stripe runs in-process in the bench binary (2 tokio workers) on loopback; at the simulated
  latency it sleeps that long before each response.
";
