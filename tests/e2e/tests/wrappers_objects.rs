//! Supabase Wrappers' documented DDL for every Stripe object (tests/e2e/tests/wrappers_ddl, copied
//! from docs/catalog/stripe.md) run on stripe_fdw unchanged, with the docs' example queries, against
//! the fake Stripe's demo catalog. Where stripe_fdw answers differently from Wrappers (canceled
//! subscriptions listed, periods from the first item, a required condition), the test says so.

mod wrappers_ddl;

use e2e::supabase::Supa;
use wrappers_ddl::{ddl, DDL};

fn server(s: &mut Supa) {
    let url = s.fake.base_url();
    s.owner_sql(&format!(
        "create server stripe_server
  foreign data wrapper stripe_wrapper
  options (
    api_key_name 'stripe',  -- name used when creating the secret via vault.create_secret
    api_url '{url}/'  -- Stripe API base URL, optional. Default is 'https://api.stripe.com/v1/'
  );"
    ));
    s.owner_sql("create schema if not exists stripe;");
}

fn count(s: &mut Supa, sql: &str) -> i64 {
    s.owner_query(&format!("select count(*) from ({sql}) q"))[0].get(0)
}

/// The condition a query on `table` needs (Stripe has no plain list of it), else "true".
fn needed(table: &str) -> String {
    let fixture = |o: &str| {
        fake_stripe::docs::fixture(o)["id"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    match table {
        "setup_attempts" => format!(
            "setup_intent = '{}'",
            fake_stripe::docs::fixture("setup_attempt")["setup_intent"]
                .as_str()
                .unwrap_or("")
        ),
        "tokens" => format!("id = '{}'", fixture("token")),
        "mandates" => format!("id = '{}'", fixture("mandate")),
        _ => "true".into(),
    }
}

#[test]
fn every_documented_table_is_created_and_answers_select_star() {
    let mut s = Supa::platform();
    server(&mut s);
    assert_eq!(DDL.len(), 24, "Wrappers documents 24 objects");
    // Two tables whose object is a path below /v1.
    assert!(ddl("billing_meter").contains("object 'billing/meters'"));
    assert!(ddl("checkout_sessions").contains("object 'checkout/sessions'"));
    // The seeded catalog has no events (it stands for objects older than 30 days): make one.
    let created = ureq::post(&format!("{}/customers", s.fake.base_url()))
        .set(
            "Authorization",
            &format!("Bearer {}", e2e::supabase::OWNER_KEY),
        )
        .send_form(&[("email", "erin@example.com")]);
    assert!(created.is_ok(), "{created:?}");
    for (table, ddl) in DDL {
        s.owner_sql(ddl);
        let rows = count(
            &mut s,
            &format!("select * from stripe.{table} where {}", needed(table)),
        );
        assert!(rows > 0, "{table}: no row");
        if *table != "balance" {
            let consistent = count(
                &mut s,
                &format!(
                    "select 1 from stripe.{table} where {} and attrs->>'id' = id",
                    needed(table)
                ),
            );
            assert_eq!(consistent, rows, "{table}: attrs is the object");
        }
    }
}

#[test]
fn the_docs_examples_run_as_written() {
    let mut s = Supa::platform();
    server(&mut s);
    for (_, ddl) in DDL {
        s.owner_sql(ddl);
    }
    // "always limit records to reduce API calls to Stripe"
    assert_eq!(count(&mut s, "select * from stripe.customers limit 10"), 2);
    assert_eq!(count(&mut s, "select * from stripe.invoices limit 10"), 1);
    // Wrappers lists only uncanceled subscriptions (Stripe's default); stripe_fdw lists them all.
    assert_eq!(
        count(&mut s, "select * from stripe.subscriptions limit 10"),
        2
    );
    s.take_log();

    let invoice: String = s.owner_query("select id from stripe.invoices limit 1")[0].get(0);
    let sub: String = s
        .owner_query("select id from stripe.subscriptions where attrs->>'status' = 'active'")[0]
        .get(0);
    let customer: String = s.owner_query("select id from stripe.customers limit 1")[0].get(0);
    s.take_log();
    // "Query JSON attributes", with the docs' placeholder ids replaced by real ones...
    let row = &s.owner_query(&format!(
        "select id, attrs->>'account_name' as account_name from stripe.invoices where id = '{invoice}'"
    ))[0];
    assert_eq!(row.get::<_, String>(0), invoice);
    let lines = s.owner_query(&format!(
        "select id, attrs#>'{{lines,data}}' as line_items from stripe.invoices where id = '{invoice}'"
    ));
    assert_eq!(lines.len(), 1);
    let items: serde_json::Value = s.owner_query(&format!(
        "select id, attrs#>'{{items,data}}' as items from stripe.subscriptions where id = '{sub}'"
    ))[0]
        .get(1);
    assert_eq!(items.as_array().map(Vec::len), Some(1));
    let found = s.owner_query(&format!(
        "select * from stripe.customers where id = '{customer}'"
    ));
    assert_eq!(found.len(), 1);
    let log = s.take_log();
    let paths: Vec<&str> = log.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            format!("/v1/invoices/{invoice}"),
            format!("/v1/invoices/{invoice}"),
            format!("/v1/subscriptions/{sub}"),
            format!("/v1/customers/{customer}"),
        ],
        "each id is one retrieve, as the docs' pushdown example says"
    );
    // ... and as written: the placeholder ids are no rows, not errors.
    for sql in [
        "select id, attrs->>'account_name' as account_name from stripe.invoices where id = 'in_xxx'",
        "select id, attrs#>'{lines,data}' as line_items from stripe.invoices where id = 'in_xxx'",
        "select id, attrs#>'{items,data}' as items from stripe.subscriptions where id = 'sub_xxx'",
        "select * from stripe.customers where id = 'cus_xxx'",
    ] {
        assert!(s.owner_query(sql).is_empty(), "{sql}");
    }
    let log = s.take_log();
    assert_eq!(
        log.last().map(|e| e.path.as_str()),
        Some("/v1/customers/cus_xxx")
    );
}

#[test]
fn the_documented_columns_have_stripes_current_values() {
    let mut s = Supa::platform();
    server(&mut s);
    for (_, ddl) in DDL {
        s.owner_sql(ddl);
    }
    // The period of a subscription (Wrappers reads it from the subscription, where API versions
    // since 2025 have none: null) comes from its first item.
    let row = &s.owner_query(
        "select current_period_start < current_period_end,
                current_period_start = to_timestamp((attrs#>>'{items,data,0,current_period_start}')::bigint) at time zone 'UTC',
                attrs ? 'current_period_start', currency
           from stripe.subscriptions where attrs->>'status' = 'active'",
    )[0];
    assert!(row.get::<_, bool>(0));
    assert!(row.get::<_, bool>(1));
    assert!(!row.get::<_, bool>(2), "the fake serves the current shape");
    assert_eq!(row.get::<_, String>(3), "usd");
    // The balance: one row per entry, available and pending, as Wrappers shows it.
    let kinds: Vec<String> = s
        .owner_query("select balance_type || ' ' || currency || ' ' || amount from stripe.balance order by 1")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(kinds, ["available usd 0", "pending usd 0"]);
    // Wrappers' billing_meter table and checkout_sessions (object 'checkout/sessions').
    assert_eq!(
        count(
            &mut s,
            "select * from stripe.billing_meter where status = 'active'"
        ),
        1
    );
    let n = count(
        &mut s,
        "select * from stripe.checkout_sessions where subscription is not null",
    );
    assert_eq!(n, 1);
    // tokens: Stripe has no list of tokens, so a query must name one.
    let e = s
        .app
        .query("select * from stripe.tokens", &[])
        .map(|_| ())
        .expect_err("a token needs its id");
    let e = e2e::DbErr::from(&e);
    assert!(e.message.contains("needs a condition on id"), "{e:?}");
    assert!(
        e.hint.clone().unwrap_or_default().contains("where id = "),
        "{e:?}"
    );
}
