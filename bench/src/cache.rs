//! The cache (when this build has `stripe_fdw.create_cache`): pricing-page query cached vs live, refresh.

use crate::db::{timed_batch, timed_median};
use crate::report::ms;
use crate::Ctx;

const LIVE: &str = "select p.id, p.name, pr.id, pr.unit_amount, pr.currency
  from bench.products p join bench.prices pr on pr.product = p.id
  where p.active and pr.active";

pub fn run(ctx: &mut Ctx) {
    let present: bool = ctx
        .db
        .query_one(
            "select exists (select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
               where n.nspname = 'stripe_fdw' and p.proname = 'create_cache')",
            &[],
        )
        .expect("pg_proc")
        .get(0);
    if !present {
        println!("cache: not available in this build");
        ctx.line(
            "cache",
            "stripe_fdw.create_cache".into(),
            "cache: not available in this build".into(),
        );
        return;
    }
    let n = ctx.args.products;
    if let Err(e) = ctx.db.batch_execute(
        "drop schema if exists bench_cache cascade;
         select stripe_fdw.create_cache('bench', 'bench_cache');",
    ) {
        ctx.line("cache", "create_cache".into(), format!("failed: {e}"));
        return;
    }
    let refresh = timed_batch(&mut ctx.db, "call stripe_fdw.refresh_cache()");
    ctx.line("cache", format!("refresh_cache, {n} products"), ms(refresh));
    let (rows, cached) = timed_median(&mut ctx.db, "select * from bench_cache.catalog", 5);
    ctx.line(
        "cache",
        format!("select * from cache.catalog ({rows} rows)"),
        ms(cached),
    );
    let (rows, live) = timed_median(&mut ctx.db, LIVE, 3);
    ctx.line(
        "cache",
        format!("live join products x prices, active ({rows} rows)"),
        ms(live),
    );
}
