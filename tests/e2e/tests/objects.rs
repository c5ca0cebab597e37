//! The objects beyond the catalog, in SQL against the fake Stripe: their list parameters pushed only
//! where Stripe computes what Postgres would (the same rows as a full scan), `status=all` for
//! subscriptions, periods from the first item, the balance, conditions Stripe cannot do without,
//! and every parameter sent being one Stripe's spec has for that list.

use e2e::{param, same_as_full_scan, Catalog, Env, LogEntry};

fn one(env: &mut Env, sql: &str) -> String {
    env.strings(sql).into_iter().next().unwrap_or_default()
}

fn params(log: &[LogEntry]) -> Vec<Vec<(String, String)>> {
    log.iter()
        .map(|e| {
            e.query
                .iter()
                .filter(|(k, _)| k != "limit")
                .cloned()
                .collect()
        })
        .collect()
}

#[test]
fn new_list_parameters_are_pushed_and_agree_with_a_full_scan() {
    let mut env = Env::new(Catalog::Demo);
    let alice = one(
        &mut env,
        "select id from {s}.customers where name = 'Alice Doe'",
    );
    let sub = one(
        &mut env,
        "select id from {s}.subscriptions where customer <> '' and status = 'active'",
    );
    let pi = one(&mut env, "select id from {s}.payment_intents limit 1");
    let pro = one(
        &mut env,
        "select price from {s}.subscriptions where status = 'active'",
    );
    let cases: Vec<(&str, String, &str, &str)> = vec![
        (
            "customers",
            "email = 'alice@example.com'".into(),
            "email",
            "alice@example.com",
        ),
        (
            "customers",
            "email = 'ALICE@example.com'".into(),
            "email",
            "ALICE@example.com",
        ),
        (
            "subscriptions",
            format!("customer = '{alice}'"),
            "customer",
            &alice,
        ),
        (
            "subscriptions",
            "status = 'canceled'".into(),
            "status",
            "canceled",
        ),
        ("subscriptions", format!("price = '{pro}'"), "price", &pro),
        (
            "subscriptions",
            "status in ('active', 'canceled')".into(),
            "status",
            "all",
        ),
        (
            "invoices",
            format!("subscription = '{sub}'"),
            "subscription",
            &sub,
        ),
        ("invoices", "status = 'paid'".into(), "status", "paid"),
        (
            "invoices",
            format!("customer = '{alice}' and status = 'paid'"),
            "customer",
            &alice,
        ),
        (
            "charges",
            format!("payment_intent = '{pi}'"),
            "payment_intent",
            &pi,
        ),
        (
            "charges",
            format!("'{alice}' = customer"),
            "customer",
            &alice,
        ),
        (
            "checkout_sessions",
            format!("subscription = '{sub}'"),
            "subscription",
            &sub,
        ),
        (
            "payment_intents",
            format!("customer = '{alice}'"),
            "customer",
            &alice,
        ),
        ("file_links", "not expired".into(), "expired", "false"),
        (
            "payouts",
            "arrival_date >= '2001-01-01'".into(),
            "arrival_date[gte]",
            "978307200",
        ),
        (
            "topups",
            "status = 'succeeded'".into(),
            "status",
            "succeeded",
        ),
        (
            "balance_transactions",
            "type = 'charge'".into(),
            "type",
            "charge",
        ),
    ];
    for (table, cond, p, v) in &cases {
        let (rows, log) = same_as_full_scan(&mut env, table, cond);
        assert_eq!(log.len(), 1, "{table} where {cond}: {log:?}");
        assert_eq!(param(&log[0], p), Some(*v), "{table} where {cond}: {log:?}");
        if *cond != "email = 'ALICE@example.com'" && !cond.starts_with("status = 'succeeded'") {
            assert!(
                !rows.is_empty(),
                "{table} where {cond} finds the demo's rows"
            );
        }
    }
    // A value Stripe's enum does not take is not sent (Stripe would answer 400): Postgres filters.
    let (rows, log) = same_as_full_scan(&mut env, "invoices", "status = 'PAID'");
    assert!(rows.is_empty());
    assert_eq!(param(&log[0], "status"), None, "{log:?}");
    // The billing period columns are compared by Postgres only: Stripe's filters of those names
    // read the subscription's own period, which current API versions no longer have.
    let (_, log) = same_as_full_scan(&mut env, "subscriptions", "current_period_end > now()");
    assert_eq!(
        params(&log),
        [vec![("status".to_string(), "all".to_string())]]
    );
    // EXPLAIN shows a path below the base, as sent.
    let plan = env
        .strings("explain select * from {s}.checkout_sessions where id = 'cs_x'")
        .join("\n");
    assert!(plan.contains("GET /v1/checkout/sessions/cs_x"), "{plan}");
}

#[test]
fn subscriptions_are_listed_with_status_all_and_their_items_periods() {
    let mut env = Env::new(Catalog::Demo);
    env.take_log();
    let statuses = env.strings("select status from {s}.subscriptions order by status");
    assert_eq!(
        statuses,
        ["active", "canceled"],
        "canceled ones too, as a sync needs"
    );
    let log = env.take_log();
    assert_eq!(
        params(&log),
        [vec![("status".to_string(), "all".to_string())]]
    );
    let rows = env.query(
        "select current_period_start, current_period_end, price, quantity,
                to_timestamp((attrs#>>'{items,data,0,current_period_start}')::bigint),
                attrs#>>'{items,data,0,price,id}', attrs ? 'current_period_start'
           from {s}.subscriptions",
    );
    for r in &rows {
        let (start, end): (std::time::SystemTime, std::time::SystemTime) = (r.get(0), r.get(1));
        assert!(start < end);
        assert_eq!(
            start,
            r.get::<_, std::time::SystemTime>(4),
            "from the first item"
        );
        assert_eq!(r.get::<_, String>(2), r.get::<_, String>(5));
        assert_eq!(r.get::<_, i64>(3), 1);
        assert!(!r.get::<_, bool>(6));
    }
    // Canceled now, through the API: still a row, with status canceled.
    let active = one(
        &mut env,
        "select id from {s}.subscriptions where status = 'active'",
    );
    let (status, _) = env.stripe("DELETE", &format!("/subscriptions/{active}"), "");
    assert_eq!(status, 200);
    let statuses = env.strings("select status from {s}.subscriptions");
    assert_eq!(statuses, ["canceled", "canceled"]);
}

#[test]
fn the_balance_is_one_request_and_a_row_per_entry() {
    let mut env = Env::new(Catalog::Demo);
    env.take_log();
    let rows = env.strings(
        "select balance_type || ':' || currency || ':' || amount || ':' || (source_types->>'card')
           from {s}.balance where currency = 'usd' order by 1",
    );
    assert_eq!(rows, ["available:usd:0:0", "pending:usd:0:0"]);
    let log = env.take_log();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].path.as_str(), log[0].query.len()),
        ("/v1/balance", 0)
    );
}

#[test]
fn a_condition_stripe_cannot_do_without_is_an_error_saying_which() {
    let mut env = Env::new(Catalog::Demo);
    env.take_log();
    for (sql, column) in [
        ("select * from {s}.setup_attempts", "setup_intent"),
        (
            "select * from {s}.setup_attempts where id = 'setatt_1'",
            "setup_intent",
        ),
        (
            "select * from {s}.setup_attempts where lower(setup_intent) = 'seti_1'",
            "setup_intent",
        ),
        (
            "select * from {s}.subscription_items limit 5",
            "subscription",
        ),
        ("select * from {s}.tokens where type = 'card'", "id"),
        ("select * from {s}.mandates", "id"),
    ] {
        let e = env.error(sql);
        assert_eq!(e.code, "HV000", "{sql}: {e:?}");
        assert!(
            e.message
                .contains(&format!("needs a condition on {column}")),
            "{sql}: {e:?}"
        );
        assert!(
            e.hint
                .clone()
                .unwrap_or_default()
                .contains(&format!("where {column} = ")),
            "{e:?}"
        );
        assert!(
            e.message.contains(&env.s) || e.message.contains("foreign table"),
            "{e:?}"
        );
    }
    assert!(env.take_log().is_empty(), "nothing was sent");
    // With the condition, as a constant, a parameter or a list (one request per value).
    let seti = fake_stripe::docs::fixture("setup_attempt")["setup_intent"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let n = env.strings(&format!(
        "select id from {{s}}.setup_attempts where setup_intent = '{seti}'"
    ));
    assert_eq!(n.len(), 1);
    let subs = env.strings("select id from {s}.subscriptions order by id");
    env.take_log();
    let sql = env.sql(
        "select subscription from {s}.subscription_items where subscription = any($1) order by 1",
    );
    let rows = env.db.query(sql.as_str(), &[&subs]).expect("items");
    assert_eq!(rows.len(), 2);
    let log = env.take_log();
    let sent: Vec<Option<&str>> = log.iter().map(|e| param(e, "subscription")).collect();
    assert_eq!(sent.len(), 2, "one request per subscription: {log:?}");
    assert!(
        subs.iter().all(|s| sent.contains(&Some(s.as_str()))),
        "{log:?}"
    );
    let token = fake_stripe::docs::fixture("token")["id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let used = env.strings(&format!(
        "select used::text from {{s}}.tokens where id = '{token}'"
    ));
    assert_eq!(used, ["false"]);
}

#[test]
fn a_deleted_customer_is_no_row() {
    let mut env = Env::new(Catalog::Demo);
    let id = one(
        &mut env,
        "select id from {s}.customers where email = 'bob@example.com'",
    );
    let (status, _) = env.stripe("DELETE", &format!("/customers/{id}"), "");
    assert_eq!(status, 200);
    let (_, stub) = env.stripe("GET", &format!("/customers/{id}"), "");
    assert_eq!(
        stub["deleted"], true,
        "Stripe answers a deleted customer's retrieve"
    );
    assert!(env
        .strings(&format!("select id from {{s}}.customers where id = '{id}'"))
        .is_empty());
}

#[test]
fn a_case_insensitive_email_is_compared_by_postgres() {
    let mut env = Env::new(Catalog::Demo);
    env.exec("create collation if not exists {s}.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false)");
    // Stripe's email filter is case-sensitive: pushing this would find no customer.
    let (rows, log) = same_as_full_scan(
        &mut env,
        "customers",
        "email = 'ALICE@example.com' collate {s}.ci",
    );
    assert_eq!(rows.len(), 1);
    assert_eq!(param(&log[0], "email"), None, "{log:?}");
}

/// Every parameter of every request stripe_fdw sends for these queries is one Stripe's spec has
/// for that list (as stripe-mock enforces): checked on the log, beyond the fake's own 400s.
#[test]
fn every_parameter_sent_is_in_stripes_spec() {
    let mut env = Env::new(Catalog::Demo);
    let alice = one(
        &mut env,
        "select id from {s}.customers where name = 'Alice Doe'",
    );
    let sub = one(&mut env, "select id from {s}.subscriptions limit 1");
    let seti = fake_stripe::docs::fixture("setup_attempt")["setup_intent"]
        .as_str()
        .unwrap_or("")
        .to_string();
    env.take_log();
    let mut sent = Vec::new();
    for (endpoint, table, cols) in objects_and_tables() {
        let filters: Vec<String> = cols
            .iter()
            .map(|c| match *c {
                "created" | "arrival_date" | "due_date" => {
                    format!("{c} between '2001-01-01' and '2100-01-01'")
                }
                "active" | "shippable" | "expired" => c.to_string(),
                "customer" => format!("{c} = '{alice}'"),
                "subscription" => format!("{c} = '{sub}'"),
                "setup_intent" => format!("{c} = '{seti}'"),
                "status" => format!("{c} = 'active'"),
                other => format!("{other} = 'x'"),
            })
            .collect();
        for cond in filters.iter().map(String::as_str).chain(["true"]) {
            let needs = match table {
                "setup_attempts" => format!(" and setup_intent = '{seti}'"),
                "subscription_items" => format!(" and subscription = '{sub}'"),
                _ => String::new(),
            };
            if table == "tokens" || table == "mandates" {
                continue;
            }
            let sql = format!("select count(*) from {{s}}.{table} where {cond}{needs}");
            let n = env.query(&sql);
            assert_eq!(n.len(), 1, "{sql}");
        }
        for e in env.take_log() {
            sent.push((endpoint, e));
        }
    }
    let spec = fake_stripe::docs::api();
    let mut checked = 0;
    for (endpoint, e) in &sent {
        let list = &spec["endpoints"][*endpoint]["list"];
        for (k, _) in &e.query {
            let name = k.split('[').next().unwrap_or(k);
            let known = list.get(name).is_some();
            assert!(
                known,
                "{endpoint}: {k} is not a parameter of Stripe's list: {:?}",
                e.query
            );
            checked += 1;
        }
        assert!(e.status == 200, "{endpoint}: {e:?}");
    }
    assert!(checked > 60, "{checked} parameters checked");
}

/// (endpoint, table, columns with a pushed filter) of every object with a list.
fn objects_and_tables() -> Vec<(&'static str, &'static str, Vec<&'static str>)> {
    stripe_fdw_core::objects::ALL
        .iter()
        .map(|o| {
            (
                o.endpoint,
                o.table,
                o.filters.iter().map(|f| f.column).collect(),
            )
        })
        .collect()
}

/// EXPLAIN promises only what is sent: a condition on a column the object's list cannot filter by
/// (billing meters have no created filter) is neither "pushed when known" nor sliced by.
#[test]
fn explain_promises_no_parameter_a_list_cannot_take() {
    let mut env = Env::new(Catalog::Demo);
    let plan = |env: &mut Env, table: &str| {
        env.strings(&format!(
            "explain (verbose, costs off) select * from {{s}}.{table} where created > now() - interval '10 years'"
        ))
        .join("\n")
    };
    let meters = plan(&mut env, "billing_meters");
    assert!(!meters.contains("pushed when known"), "{meters}");
    assert!(!meters.contains("slices of created"), "{meters}");
    let products = plan(&mut env, "products");
    assert!(
        products.contains("1 condition(s) on parameters pushed when known"),
        "{products}"
    );
    assert!(products.contains("slices of created"), "{products}");
}
