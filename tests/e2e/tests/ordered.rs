//! "The latest N": Stripe's lists come newest first, so `ORDER BY created DESC LIMIT n` needs no
//! Sort and ceil(n/100) requests, and returns what Postgres' own sort of the full scan returns
//! (rows created in the same second may come in either order, as the ORDER BY allows).

use e2e::*;

/// `(id, created)` of a query, created as text.
fn rows(env: &mut Env, sql: &str) -> Vec<(String, String)> {
    env.query(sql)
        .iter()
        .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1)))
        .collect()
}

/// The ordered answer equals Postgres' sort of the full scan: the same `created` sequence, and the
/// same ids wherever `created` is not tied with the last row's.
fn same_as_sorted_full_scan(env: &mut Env, table: &str, cond: &str, n: usize) {
    let got = rows(
        env,
        &format!("select id, created::text from {{s}}.{table} where {cond} order by created desc limit {n}"),
    );
    let want = rows(
        env,
        &format!(
            "with every_row as materialized (select * from {{s}}.{table}) select id, created::text from every_row where {cond} order by created desc, id limit {n}"
        ),
    );
    let created = |v: &[(String, String)]| v.iter().map(|r| r.1.clone()).collect::<Vec<_>>();
    assert_eq!(
        created(&got),
        created(&want),
        "{table} where {cond} limit {n}"
    );
    if let Some(last) = want.last().map(|r| r.1.clone()) {
        let untied = |v: &[(String, String)]| {
            let mut ids: Vec<String> = v
                .iter()
                .filter(|r| r.1 != last)
                .map(|r| r.0.clone())
                .collect();
            ids.sort();
            ids
        };
        assert_eq!(
            untied(&got),
            untied(&want),
            "{table} where {cond} limit {n}"
        );
    }
}

#[test]
fn the_latest_n_is_one_request_and_no_sort() {
    let mut env = Env::new(generated(250, 1));
    let plan = env
        .strings("explain (costs off) select id from {s}.products order by created desc limit 5")
        .join("\n");
    assert!(!plan.contains("Sort"), "{plan}");
    env.take_log();
    let got = env.strings("select id from {s}.products order by created desc limit 5");
    assert_eq!(got.len(), 5);
    let log = env.take_log();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(param(&log[0], "limit"), Some("5"));
    // 150 rows: two pages.
    env.strings("select id from {s}.products order by created desc limit 150");
    let log = env.take_log();
    assert_eq!(log.len(), 2, "{log:?}");
    // Ascending order, or another column, is sorted by Postgres.
    let plan = env
        .strings("explain (costs off) select id from {s}.products order by created limit 5")
        .join("\n");
    assert!(plan.contains("Sort"), "{plan}");
    for n in [1, 5, 99, 100, 101, 250, 300] {
        same_as_sorted_full_scan(&mut env, "products", "true", n);
    }
}

#[test]
fn ties_filters_and_parameters_keep_postgres_answer() {
    let mut env = Env::new(Catalog::Empty);
    // Products made in quick succession share their second.
    for i in 0..30 {
        let (status, _) = env.stripe(
            "POST",
            "/products",
            &format!("name=p{i}&active={}", i % 3 != 0),
        );
        assert_eq!(status, 200);
    }
    for n in [1, 3, 10, 20, 30, 40] {
        same_as_sorted_full_scan(&mut env, "products", "true", n);
        same_as_sorted_full_scan(&mut env, "products", "active", n);
        same_as_sorted_full_scan(&mut env, "products", "name like 'p1%'", n);
    }
    // A local condition: the first page is a full one (Postgres may drop rows of it).
    env.take_log();
    env.strings("select id from {s}.products where name like 'p2%' order by created desc limit 2");
    let log = env.take_log();
    assert_eq!(param(&log[0], "limit"), Some("100"), "{log:?}");
    // A prepared statement and a cursor over the ordered scan.
    env.exec(
        "prepare latest(bigint) as select id from {s}.products order by created desc limit $1",
    );
    assert_eq!(env.query("execute latest(4)").len(), 4);
    env.exec("begin; declare c cursor for select id from {s}.products order by created desc");
    assert_eq!(env.strings("fetch 7 from c").len(), 7);
    env.exec("close c; commit; deallocate latest");
}
