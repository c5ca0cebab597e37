//! Live reads: paging, pushdown (each rule checked against the full scan), LIMIT, joins, params.

use e2e::*;
use std::collections::HashSet;

#[test]
fn a_three_page_scan_returns_every_row_once_following_the_cursor_chain() {
    // max_concurrency 1: the sequential page walk (tests/e2e/tests/concurrency.rs: the rest).
    let mut env = Env::with(generated(250, 1), "max_concurrency '1'", DEFAULT_API_KEY);
    let ids = env.strings("select id from {s}.products");
    assert_eq!(ids.len(), 250);
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        250,
        "no row twice"
    );
    let log = env.take_log();
    assert_eq!(log.len(), 3, "{log:?}");
    assert!(log
        .iter()
        .all(|e| e.path == "/v1/products" && param(e, "limit") == Some("100")));
    assert_eq!(param(&log[0], "starting_after"), None);
    assert_eq!(param(&log[1], "starting_after"), Some(ids[99].as_str()));
    assert_eq!(param(&log[2], "starting_after"), Some(ids[199].as_str()));
}

#[test]
fn id_lookup_is_one_retrieve_and_a_missing_id_is_no_row() {
    let mut env = Env::new(generated(30, 2));
    let id = env.strings("select id from {s}.products limit 1").remove(0);
    env.take_log();
    assert_eq!(
        env.strings(&format!(
            "select name from {{s}}.products where id = '{id}'"
        ))
        .len(),
        1
    );
    let log = env.take_log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].path, format!("/v1/products/{id}"));
    assert!(env
        .query("select * from {s}.prices where id = 'price_nope'")
        .is_empty());
    let log = env.take_log();
    assert_eq!((log.len(), log[0].status), (1, 404));
}

#[test]
fn limit_sets_only_the_first_page_size_and_never_loses_a_row() {
    let mut env = Env::with(generated(250, 1), "max_concurrency '1'", DEFAULT_API_KEY);
    assert_eq!(env.query("select id from {s}.products limit 5").len(), 5);
    let log = env.take_log();
    assert_eq!(log.len(), 1);
    assert_eq!(param(&log[0], "limit"), Some("5"));
    // A name on page 3, with a qual that is not pushed, and LIMIT 1: Postgres filters rows, so the
    // first page is a full one, and paging goes on.
    let names = env.strings("select name from {s}.products");
    let far = names[230].clone();
    env.take_log();
    let got = env.strings(&format!(
        "select name from {{s}}.products where name = '{far}' limit 1"
    ));
    assert_eq!(got, vec![far]);
    let log = env.take_log();
    assert_eq!(param(&log[0], "limit"), Some("100"));
    assert_eq!(log.len(), 3, "pages of 100, 100, 50 rows");
}

/// Every pushdown rule: the pushed-down answer equals the full scan filtered by Postgres,
/// and the request carries the expected parameter.
#[test]
fn every_pushdown_rule_matches_the_full_scan() {
    let mut env = Env::new(generated(60, 3));
    let product = env
        .strings("select id from {s}.products order by created limit 1 offset 7")
        .remove(0);
    let two: Vec<String> = env.strings("select id from {s}.products order by id limit 2");
    let price_ids: Vec<String> = env.strings("select id from {s}.prices order by id limit 3");
    let lookup: Vec<String> = env.strings(
        "select lookup_key from {s}.prices where lookup_key is not null order by 1 limit 2",
    );
    assert!(!lookup.is_empty(), "the generated catalog has lookup keys");
    let mid: String = env
        .strings("select created::text from {s}.prices order by created limit 1 offset 90")
        .remove(0);
    let lo: String = env
        .strings("select created::text from {s}.prices order by created limit 1 offset 60")
        .remove(0);
    let ids_in = |v: &[String]| {
        v.iter()
            .map(|i| format!("'{i}'"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let cases: Vec<(&str, String, (&str, &str))> = vec![
        ("products", "active".into(), ("active", "true")),
        ("products", "not active".into(), ("active", "false")),
        ("products", "active = false".into(), ("active", "false")),
        ("products", "type = 'service'".into(), ("type", "service")),
        ("products", "shippable = true".into(), ("shippable", "true")),
        (
            "products",
            "url = 'https://example.com/x'".into(),
            ("url", "https://example.com/x"),
        ),
        (
            "products",
            format!("id in ({})", ids_in(&two)),
            ("ids[]", two[0].as_str()),
        ),
        (
            "products",
            format!("id = any(array[{}])", ids_in(&two)),
            ("ids[]", two[1].as_str()),
        ),
        (
            "products",
            format!("created > '{mid}'"),
            ("created[gte]", ""),
        ),
        (
            "prices",
            format!("product = '{product}'"),
            ("product", product.as_str()),
        ),
        ("prices", "currency = 'eur'".into(), ("currency", "eur")),
        ("prices", "type = 'one_time'".into(), ("type", "one_time")),
        (
            "prices",
            "recurring_interval = 'year'".into(),
            ("recurring[interval]", "year"),
        ),
        (
            "prices",
            "recurring_usage_type = 'licensed'".into(),
            ("recurring[usage_type]", "licensed"),
        ),
        (
            "prices",
            format!("lookup_key = '{}'", lookup[0]),
            ("lookup_keys[]", lookup[0].as_str()),
        ),
        (
            "prices",
            format!("lookup_key in ({})", ids_in(&lookup)),
            ("lookup_keys[]", lookup[0].as_str()),
        ),
        (
            "prices",
            format!("created <= '{mid}'"),
            ("created[lte]", ""),
        ),
        (
            "prices",
            format!("created between '{lo}' and '{mid}'"),
            ("created[gte]", ""),
        ),
        ("prices", format!("created = '{mid}'"), ("created", "")),
        (
            "prices",
            "active and currency = 'usd' and type = 'recurring'".into(),
            ("currency", "usd"),
        ),
        (
            "prices",
            format!("id in ({})", ids_in(&price_ids)),
            ("", ""),
        ),
    ];
    env.take_log();
    for (table, cond, (key, value)) in cases {
        let (_, log) = same_as_full_scan(&mut env, table, &cond);
        if key.is_empty() {
            assert!(
                log.iter()
                    .all(|e| e.path.starts_with(&format!("/v1/{table}/"))),
                "{cond}: retrieves {log:?}"
            );
            assert_eq!(log.len(), price_ids.len(), "{cond}");
        } else {
            let sent = param(&log[0], key);
            assert!(
                sent.is_some(),
                "{table} where {cond}: {key} not sent in {:?}",
                log[0].query
            );
            if !value.is_empty() {
                assert!(
                    log[0].query.iter().any(|(k, v)| k == key && v == value),
                    "{cond}: {:?}",
                    log[0].query
                );
            }
        }
    }
}

#[test]
fn a_join_of_prices_to_products_pushes_the_product_id() {
    let mut env = Env::new(generated(20, 3));
    let rows = env.query(
        "select p.name, pr.id from {s}.products p join {s}.prices pr on pr.product = p.id
         where p.id = (select id from {s}.products order by created desc limit 1)",
    );
    assert_eq!(rows.len(), 3);
    let log = env.take_log();
    let newest = env.strings("select id from {s}.products order by created desc limit 1");
    env.take_log();
    // p.id = (subquery) and pr.product = p.id: Postgres derives pr.product = (subquery), which
    // is pushed as a parameter.
    assert!(
        log.iter()
            .any(|e| e.path == "/v1/prices" && param(e, "product") == Some(newest[0].as_str())),
        "{log:?}"
    );
    let all = env.query("select pr.id from {s}.prices pr join {s}.products p on p.id = pr.product");
    assert_eq!(all.len(), 60);
}

#[test]
fn a_lateral_subquery_pushes_each_outer_value_as_a_parameter() {
    let mut env = Env::new(generated(10, 3));
    let ids = env.strings("select id from {s}.products order by id limit 3");
    env.take_log();
    // `offset 0` keeps the subquery from being flattened, so each outer row is a PARAM_EXEC value.
    let n = env.query(&format!(
        "select pr.id from (values ('{}'), ('{}'), ('{}')) v(pid),
           lateral (select id from {{s}}.prices where product = v.pid offset 0) pr",
        ids[0], ids[1], ids[2]
    ));
    assert_eq!(n.len(), 9);
    let log = env.take_log();
    let products: HashSet<&str> = log.iter().filter_map(|e| param(e, "product")).collect();
    assert_eq!(
        products.len(),
        3,
        "one pushed request per outer row: {log:?}"
    );
}

#[test]
fn a_prepared_statement_pushes_its_parameter_on_every_execution() {
    let mut env = Env::new(generated(12, 2));
    let ids = env.strings("select id from {s}.products order by id");
    env.exec("prepare by_product(text) as select id from {s}.prices where product = $1");
    // More than five executions: Postgres switches to a generic plan after five custom ones.
    for id in ids.iter().take(8) {
        env.take_log();
        let rows = env.query(&format!("execute by_product('{id}')"));
        assert_eq!(rows.len(), 2, "{id}");
        let log = env.take_log();
        assert_eq!(log.len(), 1);
        assert_eq!(param(&log[0], "product"), Some(id.as_str()));
    }
    // A prepared statement without parameters, run many times (a cached generic plan).
    env.exec("prepare everything as select count(*) from {s}.products");
    for _ in 0..7 {
        let n: i64 = env.query("execute everything")[0].get(0);
        assert_eq!(n, 12);
    }
}

#[test]
fn attrs_is_the_object_stripe_served_and_null_is_null() {
    let mut env = Env::new(Catalog::Demo);
    let rows = env.query("select id, attrs, lookup_key, recurring_interval from {s}.prices");
    assert!(!rows.is_empty());
    for r in &rows {
        let id: String = r.get(0);
        let attrs: serde_json::Value = r.get(1);
        assert_eq!(attrs["id"], serde_json::Value::String(id.clone()));
        assert_eq!(attrs["object"], "price");
        let lk: Option<String> = r.get(2);
        assert_eq!(lk.as_deref(), attrs["lookup_key"].as_str(), "{id}");
        let ri: Option<String> = r.get(3);
        assert_eq!(
            ri.as_deref(),
            attrs["recurring"]["interval"].as_str(),
            "{id}"
        );
    }
    // attrs is exactly what the retrieve endpoint returns.
    let (id, attrs): (String, serde_json::Value) = {
        let r = &rows[0];
        (r.get(0), r.get(1))
    };
    let one: serde_json::Value =
        env.query(&format!("select attrs from {{s}}.prices where id = '{id}'"))[0].get(0);
    assert_eq!(one, attrs);
}

#[test]
fn columns_and_types_are_checked_with_clear_errors() {
    let mut env = Env::new(Catalog::Demo);
    env.exec("create foreign table {s}.bad_col (id text, colour text) server {server} options (object 'products')");
    let e = env.error("select * from {s}.bad_col");
    assert_eq!(e.code, "HV005", "{e:?}");
    assert!(e.message.contains("\"colour\""), "{e:?}");
    env.exec("create foreign table {s}.bad_type (id text, unit_amount integer) server {server} options (object 'prices')");
    let e = env.error("select id from {s}.bad_type");
    assert_eq!(e.code, "HV004", "{e:?}");
    assert!(
        e.message.contains("unit_amount") && e.message.contains("bigint"),
        "{e:?}"
    );
    // Any subset, in any order, works.
    env.exec("create foreign table {s}.few (created timestamptz, unit_amount bigint, id text) server {server} options (object 'prices')");
    assert_eq!(
        env.query("select * from {s}.few").len(),
        env.query("select * from {s}.prices").len()
    );
}

#[test]
fn explain_shows_the_stripe_request() {
    let mut env = Env::new(Catalog::Demo);
    let plan: Vec<String> =
        env.strings("explain (verbose, costs off) select * from {s}.prices where product = 'prod_DemoPro0000000' limit 3");
    let text = plan.join("\n");
    assert!(
        text.contains("Stripe Request: GET /v1/prices?product=prod_DemoPro0000000&limit=3"),
        "{text}"
    );
    let plan = env
        .strings("explain (analyze, costs off, timing off, summary off) select * from {s}.products")
        .join("\n");
    assert!(plan.contains("Stripe Requests Sent: 1"), "{plan}");
    assert!(env.take_log().len() == 1, "plain EXPLAIN sends nothing");
}

#[test]
fn explain_shows_exactly_what_is_sent_on_the_servers_base_path() {
    let mut env = Env::new(Catalog::Demo);
    // A server behind a proxy path: plain EXPLAIN shows that path (nothing is sent, no key read).
    env.exec(
        "create server {server}_p foreign data wrapper stripe_wrapper options (api_url 'http://127.0.0.1:9/proxy/v1');
         create foreign table {s}.prices_p (id text, product text) server {server}_p options (object 'prices')",
    );
    // (In text format Postgres' own Filter line prints the constant's newline as it is; the JSON
    // format shows each property apart.)
    let plan: serde_json::Value = env.query(
        "explain (costs off, format json) select * from {s}.prices_p where product = e'a b\nStripe Request: forged'",
    )[0]
        .get(0);
    assert_eq!(
        plan[0]["Plan"]["Stripe Request"],
        "GET /proxy/v1/prices?product=a+b%0AStripe+Request%3A+forged&limit=100 (then every page while has_more)",
        "{plan}"
    );
    let shown = env
        .strings("explain (costs off) select * from {s}.prices_p where id = 'price_1'")
        .join("\n");
    assert!(
        shown.contains("Stripe Request: GET /proxy/v1/prices/price_1"),
        "{shown}"
    );
    assert!(
        !shown.contains("Stripe Scan"),
        "a retrieve has no pages to split: {shown}"
    );
    let shown = env
        .strings("explain (costs off) select * from {s}.prices_p")
        .join("\n");
    assert!(
        shown.contains("Stripe Scan: up to 4 pages at a time"),
        "{shown}"
    );
    // What EXPLAIN ANALYZE shows is the request the fake received, to the byte.
    env.take_log();
    let analyzed = env
        .strings("explain (analyze, costs off, timing off, summary off) select * from {s}.prices where product = 'prod one/..'")
        .join("\n");
    let log = env.take_log();
    let e = log.last().expect("a request");
    let query: Vec<String> = e
        .query
        .iter()
        .map(|(k, v)| {
            let enc: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair(k, v)
                .finish();
            enc
        })
        .collect();
    let sent = format!("Stripe Request: GET {}?{}", e.path, query.join("&"));
    assert!(analyzed.contains(&sent), "{analyzed}\nvs {sent}");
    env.exec("drop server {server}_p cascade");
}

#[test]
fn import_foreign_schema_knows_its_objects_and_runs_again() {
    let mut env = Env::new(Catalog::Demo);
    env.exec("create schema {s}_only; import foreign schema stripe limit to (prices) from server {server} into {s}_only");
    let tables = |env: &mut Env| {
        env.strings(&format!(
            "select foreign_table_name::text from information_schema.foreign_tables
              where foreign_table_schema = '{}_only' order by 1",
            env.s
        ))
    };
    assert_eq!(tables(&mut env), vec!["prices".to_string()]);
    // As Supabase Wrappers' users run it: again (a re-run migration), and with names stripe_fdw
    // has no object for, which are skipped with a NOTICE naming them.
    env.notices.lock().map(|mut n| n.clear()).ok();
    env.exec("import foreign schema stripe limit to (plans, products, prices, checkout_sessions) from server {server} into {s}_only");
    assert_eq!(
        tables(&mut env),
        vec![
            "checkout_sessions".to_string(),
            "prices".to_string(),
            "products".to_string()
        ]
    );
    let notices = env.notices.lock().map(|n| n.join("\n")).unwrap_or_default();
    assert!(notices.contains("plans"), "{notices}");
    assert!(!notices.contains("checkout_sessions;"), "{notices}");
    let object: String = env.query(&format!(
        "select array_to_string(ftoptions, ',') from pg_foreign_table
          where ftrelid = '{}_only.checkout_sessions'::regclass",
        env.s
    ))[0]
        .get(0);
    assert_eq!(object, "object=checkout/sessions");
    env.exec("import foreign schema stripe except (checkout_sessions, products) from server {server} into {s}_only");
    env.exec("import foreign schema stripe from server {server} into {s}_only");
    let n: i64 = env.query("select count(*) from {s}_only.products")[0].get(0);
    assert!(n > 0);
    let e = env.error("import foreign schema public from server {server} into {s}_only");
    assert!(e.message.contains("public"), "{e:?}");
    env.exec("drop schema {s}_only cascade");
}

#[test]
fn writes_are_refused_clearly() {
    let mut env = Env::new(Catalog::Demo);
    let e = env.error("insert into {s}.products (id, name) values ('prod_x', 'x')");
    assert_eq!(e.code, "0A000", "{e:?}");
    assert!(
        e.message.contains("cannot insert into foreign table"),
        "{e:?}"
    );
    env.exec("alter foreign table {s}.prices options (add rowid_column 'id')");
    let e = env.error("delete from {s}.prices");
    assert_eq!(e.code, "0A000", "{e:?}");
    assert!(
        e.message.contains("cannot delete from foreign table"),
        "{e:?}"
    );
    assert!(env.take_log().is_empty(), "nothing was sent to Stripe");
}

#[test]
fn options_are_validated_where_they_are_set() {
    let mut env = Env::new(Catalog::Demo);
    let cases = [
        ("create server {s}_a foreign data wrapper stripe_wrapper options (timeout '5')", "HV00D", "request_timeout"),
        ("create server {s}_a foreign data wrapper stripe_wrapper options (request_timeout 'abc')", "22023", "duration"),
        ("create server {s}_a foreign data wrapper stripe_wrapper options (api_url 'ftp://x')", "22023", "http"),
        ("create server {s}_a foreign data wrapper stripe_wrapper options (max_retries '-1')", "22023", "0 to 10"),
        ("create foreign table {s}.t (id text) server {server} options (object 'customerz')", "HV00R", "checkout/sessions, customers"),
        ("create foreign table {s}.t (id text) server {server}", "HV00J", "object"),
        ("create foreign table {s}.t (id text) server {server} options (object 'prices', colour 'red')", "HV00D", "object"),
        ("alter user mapping for current_user server {server} options (add api_url 'x')", "HV00D", "api_key"),
    ];
    for (sql, code, hint) in cases {
        let e = env.error(sql);
        assert_eq!(e.code, code, "{sql}: {e:?}");
        assert!(
            e.hint.clone().unwrap_or_default().contains(hint),
            "{sql}: {e:?}"
        );
    }
}

#[test]
fn stripe_errors_are_errors_never_zero_rows() {
    let mut env = Env::new(Catalog::Demo);
    // A wrong API base path: Stripe's 404 is an error for a list, not an empty table.
    env.exec(&format!(
        "alter server {{server}} options (set api_url '{}')",
        env.fake.base_url().replace("/v1", "/v0")
    ));
    let e = env.error("select * from {s}.products");
    assert_eq!(e.code, "HV000", "{e:?}");
    assert!(
        e.detail
            .clone()
            .unwrap_or_default()
            .contains("HTTP status 404"),
        "{e:?}"
    );
    assert!(e.detail.unwrap_or_default().contains("Request-Id req_"));
}

#[test]
fn a_bad_key_is_28000_and_never_shown() {
    let mut env = Env::new(Catalog::Demo);
    env.exec("alter user mapping for current_user server {server} options (set api_key 'sk_test_wrongwrongwrong1234')");
    let e = env.error("select * from {s}.products");
    assert_eq!(e.code, "28000", "{e:?}");
    assert!(
        !e.all_text().contains("wrongwrong") && !e.all_text().contains("1234"),
        "{e:?}"
    );
    assert!(e.hint.unwrap_or_default().contains("rejected the API key"));
}

#[test]
fn no_page_is_fetched_after_postgres_stops_asking() {
    let mut env = Env::new(generated(250, 1));
    env.exec(
        "begin; declare c cursor for select * from {s}.products; fetch 1 from c; close c; commit",
    );
    assert_eq!(env.take_log().len(), 1, "a closed cursor fetched one page");
    let found: bool =
        env.query("select exists (select 1 from {s}.products where active)")[0].get(0);
    assert!(found);
    assert_eq!(
        env.take_log().len(),
        1,
        "EXISTS stops after the first matching row"
    );
}

#[test]
fn attrs_and_jsonb_columns_equal_the_json_stripe_serves() {
    let mut env = Env::new(Catalog::Demo);
    // Unicode, escapes, nested objects, numbers that are not integers, empty containers.
    let (status, made) = env.stripe(
        "POST",
        "/products",
        "name=Caf%C3%A9+%22Pro%22+%E2%9C%93&description=line1%0Aline2%09tab%5C&metadata[k%C3%BC]=v%C3%A9&package_dimensions[height]=1.5&package_dimensions[length]=2&package_dimensions[weight]=0.25&package_dimensions[width]=10",
    );
    assert_eq!(status, 200, "{made}");
    let id = made["id"].as_str().expect("id").to_string();
    for table in ["products", "prices"] {
        for row in env.query(&format!("select id, attrs, metadata from {{s}}.{table}")) {
            let id: String = row.get(0);
            let (status, served) = env.stripe("GET", &format!("/{table}/{id}"), "");
            assert_eq!(status, 200);
            let attrs: serde_json::Value = row.get(1);
            let metadata: serde_json::Value = row.get(2);
            assert_eq!(attrs, served, "{table} {id}");
            assert_eq!(metadata, served["metadata"], "{table} {id}");
        }
    }
    let pd: serde_json::Value = env.query(&format!(
        "select package_dimensions from {{s}}.products where id = '{id}'"
    ))[0]
        .get(0);
    assert_eq!(pd, made["package_dimensions"]);
    // jsonb operators work on the values as on any jsonb.
    let v: String = env.query(&format!(
        "select attrs->'metadata'->>'kü' from {{s}}.products where id = '{id}'"
    ))[0]
        .get(0);
    assert_eq!(v, "vé");
}

#[test]
fn a_nul_character_from_stripe_is_an_error_not_a_cut_string() {
    let mut env = Env::new(Catalog::Empty);
    let (status, _) = env.stripe("POST", "/products", "name=nul&description=a%00b");
    assert_eq!(status, 200);
    let e = env.error("select description from {s}.products");
    assert_eq!(e.code, "HV004", "{e:?}");
    assert!(e.message.contains("description"), "{e:?}");
    // In jsonb, Postgres' own rule and error apply.
    let e = env.error("select attrs from {s}.products");
    assert_eq!(e.code, "22P05", "{e:?}");
    assert_eq!(
        env.strings("select name from {s}.products"),
        vec!["nul".to_string()]
    );
}

/// Conditions Stripe cannot take are left to Postgres: right answers, the columns they read are
/// fetched even when not selected, and no warning reaches the user.
#[test]
fn conditions_stripe_cannot_take_are_checked_by_postgres_quietly() {
    let mut env = Env::new(generated(40, 3));
    let name = env
        .strings("select name from {s}.products order by id limit 1")
        .remove(0);
    env.notices.lock().expect("notices").clear();
    let conds = [
        ("products", format!("upper(name) = upper('{name}')")),
        ("products", "metadata->>'index' = '3'".to_string()),
        (
            "products",
            "name like 'Product 1%' or not active".to_string(),
        ),
        (
            "products",
            "not (active and coalesce(shippable, false))".to_string(),
        ),
        (
            "prices",
            "coalesce(nickname, '') = '' and active and currency = 'usd'".to_string(),
        ),
        ("prices", "unit_amount between 1000 and 5000".to_string()),
        ("prices", "recurring->>'interval' = 'month'".to_string()),
    ];
    for (table, cond) in conds {
        let (full, _) = same_as_full_scan(&mut env, table, &cond);
        assert!(
            !full.is_empty() || cond.contains("index"),
            "{cond} selects something"
        );
    }
    let said = env.notices.lock().expect("notices").clone();
    assert!(said.is_empty(), "the server said: {said:?}");
}

/// An InitPlan's value pushed as a parameter, through the extended protocol (Bind and Execute
/// are separate messages, and the planner's memory of the Bind is gone by Execute).
#[test]
fn an_init_plan_parameter_survives_the_extended_protocol() {
    let mut env = Env::new(generated(20, 3));
    for _ in 0..20 {
        let rows = env.query(
            "select pr.id from {s}.prices pr
              where pr.product = (select id from {s}.products order by created desc limit 1)",
        );
        assert_eq!(rows.len(), 3);
    }
    let log = env.take_log();
    assert!(
        log.iter()
            .any(|e| e.path == "/v1/prices" && param(e, "product").is_some()),
        "pushed: {log:?}"
    );
}

#[test]
fn an_object_of_another_type_is_an_error_never_a_row() {
    let mut env = Env::new(Catalog::Demo);
    let id: String = env.query("select id from {s}.products limit 1")[0].get(0);
    // The endpoint answers the retrieve with a list object (as `GET /v1/products` would) whose
    // type is the request's own Authorization header.
    let mut r = rule(FaultKind::EchoKey);
    r.status = Some(200);
    r.path_prefix = Some(format!("/v1/products/{id}"));
    env.fake.set_faults(FaultConfig {
        latency_ms: 0,
        rules: vec![r],
    });
    let e = env.error(&format!(
        "select name from {{s}}.products where id = '{id}'"
    ));
    assert!(e.message.contains("expected product objects"), "{e:?}");
    assert!(
        !e.all_text().contains(&env.key),
        "the key is never shown: {e:?}"
    );
}

#[test]
fn a_scan_outputs_and_reads_only_the_columns_the_query_needs() {
    let mut env = Env::new(generated(150, 1));
    let plan = env.strings("explain verbose select count(*) from {s}.products");
    let scan_output: Vec<&String> = plan
        .iter()
        .skip_while(|l| !l.contains("Foreign Scan"))
        .filter(|l| l.trim_start().starts_with("Output:"))
        .collect();
    assert!(scan_output.is_empty(), "{plan:?}");
    // `active` is read for the filter Postgres re-checks, but is not output.
    let plan = env.strings("explain verbose select name from {s}.products where active");
    assert!(plan.iter().any(|l| l.trim() == "Output: name"), "{plan:?}");
    // Narrow scans (fields skipped while parsing) give the same values as whole objects.
    let narrow = env.strings("select name || active::text from {s}.products order by id");
    let whole = env.strings("select attrs->>'name' || active::text from {s}.products order by id");
    assert_eq!(narrow.len(), 150);
    assert_eq!(narrow, whole);
    assert_eq!(
        env.strings("select count(*)::text from {s}.products"),
        ["150"]
    );
}
