//! Supabase Wrappers' Stripe documentation (supabase/wrappers, docs/catalog/stripe.md), run on
//! stripe_fdw unchanged: its `create server` statements, its products and prices DDL (`timestamp`
//! columns, `rowid_column 'id'`), its `import foreign schema` statements and its queries (the other
//! objects' DDL and queries: wrappers_objects.rs). Each test
//! has a Supabase-shaped database of its own, so every name is the docs' own; the only change is
//! `api_url`, which points at the fake Stripe.

use e2e::param;
use e2e::supabase::{Supa, OWNER_KEY};

mod wrappers_ddl;

use wrappers_ddl::ddl;

/// Wrappers' "With Vault, option 2" server, verbatim but for the URL (the fake's, with the docs'
/// trailing slash).
fn server_by_key_name(url: &str) -> String {
    format!(
        "create server stripe_server
  foreign data wrapper stripe_wrapper
  options (
    api_key_name 'stripe',  -- name used when creating the secret via vault.create_secret
    api_url '{url}/',  -- Stripe API base URL, optional. Default is 'https://api.stripe.com/v1/'
    api_version '2024-06-20'  -- Stripe API version, optional. Default is your Stripe account’s default API version.
  );"
    )
}

/// The demo catalog's archived product was created at 1700003600 = 2023-11-14 23:13:20 UTC.
const LEGACY_CREATED_UTC: &str = "2023-11-14 23:13:20";

#[test]
fn wrappers_ddl_and_queries_work_unchanged() {
    let mut s = Supa::platform();
    let url = s.fake.base_url();
    s.owner_sql(&server_by_key_name(&url));
    s.owner_sql("create schema if not exists stripe;");
    s.owner_sql(ddl("products"));
    s.owner_sql(ddl("prices"));
    // A session time zone far from UTC: `timestamp` must still be Stripe's UTC wall time.
    s.owner_sql("set timezone = 'America/New_York'");
    s.take_log();

    // "always limit records to reduce API calls to Stripe"
    let rows = s.owner_query("select * from stripe.products limit 10");
    assert_eq!(rows.len(), 4);
    let log = s.take_log();
    assert_eq!(log.len(), 1, "{log:?}");
    let version = log[0]
        .headers
        .iter()
        .find(|(k, _)| k == "stripe-version")
        .map(|(_, v)| v.as_str());
    assert_eq!(version, Some("2024-06-20"), "the docs' api_version is sent");

    let legacy: String = s.owner_query("select id from stripe.products where not active")[0].get(0);
    s.take_log();
    let row = &s.owner_query(&format!(
        "select created::text, pg_typeof(created)::text, updated >= created,
                attrs->>'description'
           from stripe.products where id = '{legacy}'"
    ))[0];
    assert_eq!(row.get::<_, String>(0), LEGACY_CREATED_UTC);
    assert_eq!(row.get::<_, String>(1), "timestamp without time zone");
    assert!(row.get::<_, bool>(2), "updated is not before created");
    assert_eq!(row.get::<_, String>(3), "Retired starter plan");
    // Filtering by id, as the docs recommend, is one retrieve.
    let log = s.take_log();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].path, format!("/v1/products/{legacy}"));

    // The docs' JSON queries, on prices.
    let row = &s.owner_query(
        "select id, attrs->>'nickname' as nickname, attrs#>>'{recurring,interval}' as interval,
                created::text
           from stripe.prices where attrs->>'lookup_key' = 'pro_monthly'",
    )[0];
    assert_eq!(row.get::<_, String>(1), "Pro monthly");
    assert_eq!(row.get::<_, String>(2), "month");
    let id: String = row.get(0);
    let created: String = row.get(3);
    let epoch: i64 = s.owner_query(&format!(
        "select (attrs->>'created')::bigint from stripe.prices where id = '{id}'"
    ))[0]
        .get(0);
    let expected: String = s.owner_query(&format!(
        "select (to_timestamp({epoch}) at time zone 'UTC')::text"
    ))[0]
        .get(0);
    assert_eq!(created, expected, "prices.created is UTC wall time");
    s.take_log();
    let active: i64 = s.owner_query("select count(*) from stripe.prices where active")[0].get(0);
    assert_eq!(active, 8);
    let log = s.take_log();
    assert_eq!(param(&log[0], "active"), Some("true"), "{log:?}");

    // The app's path on the docs' tables: the key is the server's (Vault), read through the
    // owner's view by anon.
    s.owner_sql(
        "create view public.plans as select id, name, created from stripe.products where active;
         revoke all on public.plans from anon, authenticated, service_role;
         grant select on public.plans to anon;",
    );
    let names = s.api_strings("anon", "select name from public.plans order by created");
    assert_eq!(names, ["Hobby", "Pro", "Team"]);
}

#[test]
fn wrappers_servers_by_vault_key_id_and_without_vault() {
    let mut s = Supa::platform();
    let url = s.fake.base_url();
    let key_id: String = s
        .owner_query("select id::text from vault.secrets where name = 'stripe'")
        .first()
        .map(|r| r.get(0))
        .unwrap_or_default();
    assert!(!key_id.is_empty(), "the owner may read its secret's id");
    // "Option 1: using api_key_id"
    s.owner_sql(&format!(
        "create server stripe_server
  foreign data wrapper stripe_wrapper
  options (
    api_key_id '{key_id}',  -- UUID returned by vault.create_secret, or retrieved via: select id from vault.secrets where name = 'stripe'
    api_url '{url}/',  -- Stripe API base URL, optional. Default is 'https://api.stripe.com/v1/'
    api_version '2024-06-20'  -- Stripe API version, optional. Default is your Stripe account’s default API version.
  );"
    ));
    s.owner_sql("create schema if not exists stripe;");
    s.owner_sql(ddl("products"));
    let n: i64 = s.owner_query("select count(*) from stripe.products")[0].get(0);
    assert_eq!(n, 4, "key by Vault id");
    // "Without Vault"
    s.owner_sql("drop server stripe_server cascade");
    s.owner_sql(&format!(
        "create server stripe_server
  foreign data wrapper stripe_wrapper
  options (
    api_key '{OWNER_KEY}',  -- Stripe API key, required
    api_url '{url}/',  -- Stripe API base URL, optional. Default is 'https://api.stripe.com/v1/'
    api_version '2024-06-20'  -- Stripe API version, optional. Default is your Stripe account’s default API version.
  );"
    ));
    s.owner_sql(ddl("products"));
    s.owner_sql(ddl("prices"));
    let n: i64 = s.owner_query("select count(*) from stripe.prices")[0].get(0);
    assert_eq!(n, 9, "key on the server");
}

#[test]
fn wrappers_import_foreign_schema_statements_work_and_rerun() {
    let mut s = Supa::platform();
    let url = s.fake.base_url();
    s.owner_sql(&server_by_key_name(&url));
    s.owner_sql("create schema if not exists stripe;");
    let tables = |s: &mut Supa| -> Vec<String> {
        s.owner_query(
            "select c.relname::text from pg_class c join pg_foreign_table f on f.ftrelid = c.oid
              where c.relnamespace = 'stripe'::regnamespace order by 1",
        )
        .iter()
        .map(|r| r.get(0))
        .collect()
    };
    // "create "checkout_sessions", "customers" and "balance" tables only", with Wrappers' names.
    s.app_notices.lock().expect("notices").clear();
    s.owner_sql(
        "import foreign schema stripe
   limit to (\"checkout_sessions\", \"customers\", \"balance\")
   from server stripe_server into stripe;",
    );
    assert_eq!(
        tables(&mut s),
        ["balance", "checkout_sessions", "customers"]
    );
    let notices = s.app_notices.lock().expect("notices").join("\n");
    assert!(
        notices.is_empty(),
        "stripe_fdw has every one of them: {notices:?}"
    );
    s.owner_sql("drop foreign table stripe.balance, stripe.checkout_sessions, stripe.customers");
    // "create all the foreign tables", then the same again (a re-run migration), then "all
    // except "checkout_sessions" and "billing_meters"".
    s.owner_sql("import foreign schema stripe from server stripe_server into stripe;");
    s.owner_sql("import foreign schema stripe from server stripe_server into stripe;");
    s.owner_sql(
        "import foreign schema stripe
   except (\"checkout_sessions\", \"billing_meters\")
   from server stripe_server into stripe;",
    );
    let every: Vec<String> = tables(&mut s);
    assert_eq!(every.len(), 25, "{every:?}");
    for name in [
        "billing_meters",
        "checkout_sessions",
        "subscription_items",
        "tokens",
        "balance",
    ] {
        assert!(every.iter().any(|t| t == name), "{name} in {every:?}");
    }
    let n: i64 = s.owner_query("select count(*) from stripe.products where active")[0].get(0);
    assert_eq!(n, 3);
}
