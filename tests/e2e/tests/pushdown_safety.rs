//! The pushdown safety matrix: every pushed column and operator, in both operand orders, with
//! constants and `$1` parameters, with a nondeterministic collation and with a look-alike operator
//! from another schema. Each case equals the full scan filtered by Postgres, and the request sent
//! carries the filter exactly when Stripe computes the same thing.

use e2e::*;

/// `where cond` through the FDW equals the full scan filtered by Postgres; returns the requests.
fn check(env: &mut Env, table: &str, cond: &str) -> Vec<LogEntry> {
    same_as_full_scan(env, table, cond).1
}

/// The same, with the value as a `$1` parameter of a prepared statement (extended protocol).
fn check_param(env: &mut Env, table: &str, cond: &str, value: &str) -> Vec<LogEntry> {
    env.take_log();
    let sql = env.sql(&format!(
        "select id::text from {{s}}.{table} where {cond} order by id"
    ));
    let rows = env
        .db
        .query(sql.as_str(), &[&value])
        .unwrap_or_else(|e| panic!("{sql}: {}", describe(&e)));
    let pushed: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    let log = env.take_log();
    let full_sql = env.sql(&format!(
        "with every_row as materialized (select * from {{s}}.{table}) select id::text from every_row where {cond} order by id"
    ));
    let full: Vec<String> = env
        .db
        .query(full_sql.as_str(), &[&value])
        .unwrap_or_else(|e| panic!("{full_sql}: {}", describe(&e)))
        .iter()
        .map(|r| r.get(0))
        .collect();
    env.take_log();
    assert_eq!(pushed, full, "{table} where {cond} with $1 = {value}");
    log
}

fn sent(log: &[LogEntry], name: &str) -> Vec<String> {
    log.iter()
        .filter_map(|e| param(e, name))
        .map(str::to_string)
        .collect()
}

#[test]
fn comparisons_on_created_in_both_orders_with_constants_and_parameters() {
    let mut env = Env::new(generated(40, 1));
    let mid: String = env
        .query("select created::text from {s}.products order by created limit 1 offset 20")[0]
        .get(0);
    for (op, flipped) in [
        ("<", ">"),
        ("<=", ">="),
        (">", "<"),
        (">=", "<="),
        ("=", "="),
    ] {
        let a = check(&mut env, "products", &format!("created {op} '{mid}'"));
        let b = check(&mut env, "products", &format!("'{mid}' {flipped} created"));
        let params = |l: &[LogEntry]| {
            l.iter()
                .flat_map(|e| {
                    e.query
                        .iter()
                        .filter(|(k, _)| k.starts_with("created"))
                        .cloned()
                })
                .collect::<Vec<_>>()
        };
        assert!(!params(&a).is_empty(), "created {op} is pushed: {a:?}");
        assert_eq!(
            params(&a),
            params(&b),
            "'{mid}' {flipped} created is pushed commuted"
        );
        // Sub-second values and parameters.
        check(
            &mut env,
            "products",
            &format!("created {op} '{mid}'::timestamptz + interval '0.5 s'"),
        );
        check(
            &mut env,
            "products",
            &format!("'{mid}'::timestamptz - interval '0.5 s' {flipped} created"),
        );
        let p = check_param(
            &mut env,
            "products",
            &format!("created {op} $1::text::timestamptz"),
            &mid,
        );
        assert_eq!(params(&p), params(&a), "$1 on created {op}");
        check_param(
            &mut env,
            "products",
            &format!("$1::text::timestamptz {flipped} created"),
            &mid,
        );
    }
}

#[test]
fn equality_on_text_and_boolean_columns_in_both_orders() {
    let mut env = Env::new(generated(8, 3));
    let product: String = env.query("select id from {s}.products order by id limit 1")[0].get(0);
    for cond in [
        format!("product = '{product}'"),
        format!("'{product}' = product"),
    ] {
        let log = check(&mut env, "prices", &cond);
        assert_eq!(sent(&log, "product"), vec![product.clone()], "{cond}");
    }
    let log = check_param(&mut env, "prices", "product = $1", &product);
    assert_eq!(sent(&log, "product"), vec![product.clone()]);
    let log = check_param(&mut env, "prices", "$1 = product", &product);
    assert_eq!(sent(&log, "product"), vec![product.clone()]);
    for cond in [
        "active",
        "not active",
        "active = true",
        "false = active",
        "currency = 'usd'",
        "'usd' = currency",
    ] {
        let log = check(&mut env, "prices", cond);
        assert!(
            log.iter().all(|e| !e.query.is_empty()),
            "{cond} is pushed: {log:?}"
        );
    }
    let log = check(
        &mut env,
        "prices",
        &format!("id in (select id from {{s}}.prices where product = '{product}')"),
    );
    assert!(!log.is_empty());
    // ids: both orders, and ids that could change the request.
    let price: String = env.query("select id from {s}.prices order by id limit 1")[0].get(0);
    for cond in [format!("id = '{price}'"), format!("'{price}' = id")] {
        let log = check(&mut env, "prices", &cond);
        assert_eq!(log.len(), 1, "{cond}");
        assert!(log[0].path.ends_with(&price), "{log:?}");
    }
    for bad in ["..", ".", "", "a/b", "x?y=1"] {
        let log = check(&mut env, "prices", &format!("id = '{bad}'"));
        assert!(
            log.iter().all(|e| e.path != "/v1/prices"),
            "id {bad:?} never lists: {log:?}"
        );
        let log = check(&mut env, "products", &format!("id = '{bad}'"));
        assert!(
            log.iter()
                .all(|e| e.path == "/v1/products" || e.path.starts_with("/v1/products/")),
            "{log:?}"
        );
    }
}

#[test]
fn a_nondeterministic_collation_is_never_pushed() {
    let mut env = Env::new(generated(5, 3));
    env.exec("create collation if not exists {s}.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false)");
    let product: String = env.query("select id from {s}.products order by id limit 1")[0].get(0);
    let upper = product.to_uppercase();
    for cond in [
        format!("product = '{upper}' collate {{s}}.ci"),
        format!("'{upper}' collate {{s}}.ci = product"),
        format!("product collate {{s}}.ci = '{upper}'"),
    ] {
        let log = check(&mut env, "prices", &cond);
        assert!(sent(&log, "product").is_empty(), "{cond}: {log:?}");
        let n: i64 =
            env.query(&format!("select count(*) from {{s}}.prices where {cond}"))[0].get(0);
        assert_eq!(n, 3, "{cond}: Postgres' own filter finds the prices");
    }
    // A deterministic collation is pushed.
    let log = check(
        &mut env,
        "prices",
        &format!("product = '{product}' collate \"C\""),
    );
    assert_eq!(sent(&log, "product"), vec![product]);
}

#[test]
fn a_look_alike_operator_from_another_schema_is_never_pushed() {
    let mut env = Env::new(generated(5, 3));
    env.exec(
        "create function {s}.ci_eq(a text, b text) returns boolean language sql immutable
           as $$ select lower(a) operator(pg_catalog.=) lower(b) $$;
         create operator {s}.= (leftarg = text, rightarg = text, function = {s}.ci_eq)",
    );
    let product: String = env.query("select id from {s}.products order by id limit 1")[0].get(0);
    let upper = product.to_uppercase();
    let cond = format!("product operator({{s}}.=) '{upper}'");
    let log = check(&mut env, "prices", &cond);
    assert!(sent(&log, "product").is_empty(), "{log:?}");
    let n: i64 = env.query(&format!("select count(*) from {{s}}.prices where {cond}"))[0].get(0);
    assert_eq!(n, 3);
    // With the schema first on the search_path, a plain `=` resolves to it too.
    env.exec("set search_path = {s}, pg_catalog, public");
    let log = check(&mut env, "prices", &format!("product = '{upper}'"));
    assert!(sent(&log, "product").is_empty(), "{log:?}");
    env.exec("reset search_path");
}

#[test]
fn in_lists_and_parameters_as_arrays() {
    let mut env = Env::new(generated(6, 2));
    let ids = env.strings("select id from {s}.products order by id limit 3");
    let list = format!("'{}', '{}', '{}'", ids[0], ids[1], ids[2]);
    let log = check(&mut env, "products", &format!("id in ({list})"));
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(
        log[0].query.iter().filter(|(k, _)| k == "ids[]").count(),
        3,
        "{log:?}"
    );
    let sql = env.sql("select count(*) from {s}.products where id = any($1)");
    let n: i64 = env
        .db
        .query_one(sql.as_str(), &[&ids])
        .expect("any($1)")
        .get(0);
    assert_eq!(n, 3);
    check(&mut env, "products", &format!("id in ({list}, null)"));
    check(&mut env, "products", &format!("id not in ({list})"));
    check(&mut env, "prices", "lookup_key in ('a', 'b')");
}
