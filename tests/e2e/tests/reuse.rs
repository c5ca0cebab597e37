//! Every way Postgres runs a plan again: SQL functions, PL/pgSQL, prepared statements (custom and
//! generic), the extended protocol, cursors, rescans and SPI plans kept across transactions. Each
//! runs the same plan two times or more and checks the rows, the requests, and that the server did
//! not restart (a freed scan state used twice crashed it).

use e2e::*;

/// The test's world, the product ids in order, and the postmaster's start time.
fn setup() -> (Env, Vec<String>, String) {
    let mut env = Env::new(generated(6, 2));
    let ids = env.strings("select id from {s}.products order by id");
    let start = env.postmaster_start();
    env.take_log();
    (env, ids, start)
}

/// The server is the same one, and this connection still works.
fn still_up(env: &mut Env, start: &str) {
    assert_eq!(env.postmaster_start(), start, "the server restarted");
}

#[test]
fn a_sql_function_runs_its_plan_again_for_each_call() {
    let (mut env, ids, start) = setup();
    env.exec(&format!(
        "create function {{s}}.name_of_first() returns text language sql
           as $$ select name from {{s}}.products where id = '{}' $$",
        ids[0]
    ));
    let names = env.strings("select {s}.name_of_first() from generate_series(1, 3)");
    assert_eq!(names.len(), 3);
    assert!(names.iter().all(|n| n == &names[0]));
    assert_eq!(env.take_log().len(), 3, "one retrieve per call");
    still_up(&mut env, &start);

    // With a parameter, strict (not inlined), called for several rows.
    env.exec(
        "create function {s}.name_of(p text) returns text language sql strict stable
           as $$ select name from {s}.products where id = p $$",
    );
    let rows = env.query("select {s}.name_of(id) from {s}.products order by id");
    assert_eq!(rows.len(), ids.len());
    still_up(&mut env, &start);

    // A set-returning SQL function, inlined into the calling query, run twice in one statement.
    env.exec(
        "create function {s}.prices_of(p text) returns setof text language sql stable
           as $$ select id from {s}.prices where product = p $$",
    );
    let n: i64 = env.query(&format!(
        "select count(*) from (select * from {{s}}.prices_of('{}') union all select * from {{s}}.prices_of('{}')) x",
        ids[0], ids[1]
    ))[0]
        .get(0);
    assert_eq!(n, 4);
    still_up(&mut env, &start);
}

#[test]
fn plpgsql_static_sql_loops_and_execute_reuse_their_plans() {
    let (mut env, ids, start) = setup();
    env.exec(
        "create function {s}.count_prices(ids text[]) returns int language plpgsql as $$
         declare n int := 0; k int; i text;
         begin
           foreach i in array ids loop
             select count(*) into k from {s}.prices where product = i;
             n := n + k;
             execute format('select count(*) from {s}.prices where product = %L', i) into k;
             n := n + k;
           end loop;
           for i in select id from {s}.products loop
             n := n + 1;
           end loop;
           return n;
         end $$",
    );
    let list = format!("array['{}','{}','{}']", ids[0], ids[1], ids[2]);
    for _ in 0..3 {
        let n: i32 = env.query(&format!("select {{s}}.count_prices({list})"))[0].get(0);
        assert_eq!(n, 3 * 2 * 2 + 6);
    }
    still_up(&mut env, &start);
}

#[test]
fn spi_plans_kept_across_transactions_run_again() {
    let (mut env, ids, start) = setup();
    env.exec(
        "create function {s}.price_count(p text) returns bigint language plpgsql as $$
         begin return (select count(*) from {s}.prices where product = p); end $$",
    );
    for id in ids.iter().chain(ids.iter()) {
        // Each call in a transaction of its own; PL/pgSQL keeps the plan between them.
        env.exec("begin");
        let n: i64 = env.query(&format!("select {{s}}.price_count('{id}')"))[0].get(0);
        env.exec("commit");
        assert_eq!(n, 2, "{id}");
    }
    still_up(&mut env, &start);
}

#[test]
fn prepared_statements_with_custom_and_generic_plans() {
    let (mut env, ids, start) = setup();
    for mode in ["force_custom_plan", "force_generic_plan", "auto"] {
        env.exec(&format!(
            "set plan_cache_mode = {mode};
             prepare q(text) as select id from {{s}}.prices where product = $1 order by id;
             prepare one(text) as select name from {{s}}.products where id = $1"
        ));
        for id in ids.iter().chain(ids.iter()) {
            env.take_log();
            assert_eq!(env.query(&format!("execute q('{id}')")).len(), 2, "{mode}");
            let log = env.take_log();
            assert_eq!(log.len(), 1, "{mode}: {log:?}");
            assert_eq!(param(&log[0], "product"), Some(id.as_str()), "{mode}");
            assert_eq!(env.query(&format!("execute one('{id}')")).len(), 1);
            let log = env.take_log();
            assert_eq!(log.len(), 1, "{mode}: one retrieve: {log:?}");
            assert!(log[0].path.ends_with(id.as_str()), "{mode}: {log:?}");
        }
        env.exec("deallocate q; deallocate one; reset plan_cache_mode");
    }
    still_up(&mut env, &start);
}

#[test]
fn the_extended_protocol_runs_one_prepared_statement_many_times() {
    let (mut env, ids, start) = setup();
    let sql = env.sql("select id from {s}.prices where product = $1");
    let stmt = env.db.prepare(&sql).expect("prepare");
    for id in ids.iter().chain(ids.iter()) {
        let rows = env.db.query(&stmt, &[id]).expect("execute");
        assert_eq!(rows.len(), 2);
    }
    let all = env.sql("select count(*) from {s}.products");
    let stmt = env.db.prepare(&all).expect("prepare");
    for _ in 0..3 {
        let n: i64 = env.db.query_one(&stmt, &[]).expect("execute").get(0);
        assert_eq!(n, 6);
    }
    still_up(&mut env, &start);
}

#[test]
fn cursors_scroll_backward_and_survive_commit_with_hold() {
    let (mut env, ids, start) = setup();
    env.exec("begin; declare c scroll cursor for select id from {s}.products order by id");
    let first = env.strings("fetch 3 from c");
    assert_eq!(first, ids[..3].to_vec());
    let back = env.strings("fetch backward 2 from c");
    assert_eq!(back, vec![ids[1].clone(), ids[0].clone()]);
    let again = env.strings("fetch forward all from c");
    assert_eq!(again, ids[1..].to_vec());
    env.exec("close c; commit");

    // Without ORDER BY the cursor reads the foreign scan itself, page by page.
    env.exec("begin; declare c2 no scroll cursor for select id from {s}.products");
    let mut seen = Vec::new();
    loop {
        let batch = env.strings("fetch 2 from c2");
        if batch.is_empty() {
            break;
        }
        seen.extend(batch);
    }
    seen.sort();
    assert_eq!(seen, ids);
    env.exec("close c2; commit");

    env.exec("begin; declare h cursor with hold for select id from {s}.prices order by id; commit");
    assert_eq!(env.strings("fetch all from h").len(), 12);
    env.exec("close h");
    still_up(&mut env, &start);
}

#[test]
fn rescans_under_nested_loops_and_correlated_subqueries() {
    let (mut env, ids, start) = setup();
    env.exec("set enable_hashjoin = off; set enable_mergejoin = off; set enable_material = off");
    let n: i64 = env
        .query("select count(*) from {s}.products p join {s}.prices pr on pr.product = p.id")[0]
        .get(0);
    assert_eq!(n, 12);
    let counts = env.query(
        "select (select count(*) from {s}.prices pr where pr.product = p.id) from {s}.products p",
    );
    assert_eq!(counts.len(), ids.len());
    assert!(counts.iter().all(|r| r.get::<_, i64>(0) == 2));
    env.take_log();
    let rows = env.query(&format!(
        "select x.id from (values ('{}'), ('{}'), ('{}'), ('{}')) v(pid),
           lateral (select id from {{s}}.prices where product = v.pid offset 0) x",
        ids[0], ids[1], ids[0], ids[1]
    ));
    assert_eq!(rows.len(), 8);
    let log = env.take_log();
    assert_eq!(log.len(), 4, "one pushed request per outer row: {log:?}");
    env.exec("reset enable_hashjoin; reset enable_mergejoin; reset enable_material");
    still_up(&mut env, &start);
}
