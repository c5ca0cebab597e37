//! Pushdown: requests sent (from the fake's log) and time for selective queries.

use crate::db::{median, timed};
use crate::report::ms;
use crate::Ctx;

/// One query: five timed runs, the requests of the last one.
fn measure(ctx: &mut Ctx, what: &str, sql: &str, want: Option<usize>) {
    let mut times = Vec::new();
    let mut requests = 0;
    let mut rows = 0;
    for _ in 0..5 {
        ctx.fake.clear_log();
        let (n, d) = timed(&mut ctx.db, sql);
        requests = ctx.fake.log().len();
        rows = n;
        times.push(d);
    }
    let figure = format!("{requests} requests, {} ({rows} rows)", ms(median(times)));
    match want {
        Some(w) => ctx.target(
            "pushdown",
            what.to_string(),
            figure,
            format!("{w} request(s)"),
            Some(requests == w),
        ),
        None => ctx.line("pushdown", what.to_string(), figure),
    }
}

pub fn run(ctx: &mut Ctx) {
    // Ids and creation times to filter on, from the first page (newest first).
    let rows = ctx
        .db
        .query(
            "select id, created::text from bench.products limit 100",
            &[],
        )
        .expect("sample ids");
    let ids: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    let created: Vec<String> = rows.iter().map(|r| r.get(1)).collect();
    let id = &ids[7];
    measure(
        ctx,
        "id lookup: where id = '...'",
        &format!("select * from bench.products where id = '{id}'"),
        Some(1),
    );
    let list: Vec<String> = ids
        .iter()
        .skip(30)
        .take(20)
        .map(|i| format!("'{i}'"))
        .collect();
    measure(
        ctx,
        "where id in (20 ids)",
        &format!(
            "select * from bench.products where id in ({})",
            list.join(", ")
        ),
        None,
    );
    measure(
        ctx,
        "prices of one product: where product = '...'",
        &format!("select * from bench.prices where product = '{id}'"),
        None,
    );
    measure(
        ctx,
        "created range (50 products)",
        &format!(
            "select * from bench.products where created >= '{}' and created <= '{}'",
            created[59], created[10]
        ),
        None,
    );
    measure(
        ctx,
        "LIMIT 10",
        "select * from bench.products limit 10",
        Some(1),
    );
}
