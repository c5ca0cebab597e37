//! The app's path on Supabase: `anon` and `authenticated` read Stripe through the owner's views and
//! `security definer` functions (live and cached), never through the foreign tables themselves, and
//! a role with USAGE on the wrapper cannot make anyone else's Vault secret go to its own server.
//! Each test has a Supabase-shaped database of its own (e2e::supabase); docs/supabase.md is the
//! guide these tests follow.

use e2e::supabase::{Key, Listener, Supa, OWNER_KEY, PRICING_VIEW, PRODUCT_PRICES};
use e2e::{describe, param, rule, DbErr, FaultConfig, FaultKind};

fn reads_pricing_view_as_api_roles(key: Key) {
    let mut s = Supa::new(key);
    s.owner_sql(PRICING_VIEW);
    // The key is the owner's alone: one user mapping, and the API roles cannot read Vault.
    let mapped: Vec<String> = s
        .owner_query("select usename::text from pg_user_mappings where srvname = 'stripe_server'")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(mapped, vec![s.owner.clone()]);
    assert_eq!(
        s.api_error(
            "anon",
            "select decrypted_secret from vault.decrypted_secrets"
        )
        .code,
        "42501"
    );
    s.take_log();
    for role in ["anon", "authenticated"] {
        let names = s.api_strings(role, "select name from public.pricing order by name");
        assert_eq!(names, ["Hobby", "Pro", "Team"], "as {role}");
        let log = s.take_log();
        assert_eq!(log.len(), 1, "one request as {role}: {log:?}");
        assert_eq!(log[0].path, "/v1/products");
        assert_eq!(param(&log[0], "active"), Some("true"), "{log:?}");
    }
}

#[test]
fn anon_reads_a_public_view_over_a_live_table_with_the_owners_vault_key() {
    reads_pricing_view_as_api_roles(Key::Vault);
}

#[test]
fn anon_reads_a_public_view_over_a_live_table_with_the_owners_inline_key() {
    reads_pricing_view_as_api_roles(Key::Inline);
}

#[test]
fn anon_calls_a_security_definer_function_for_one_products_prices() {
    let mut s = Supa::new(Key::Vault);
    s.owner_sql(PRODUCT_PRICES);
    let pro: String = s.owner_query("select id from stripe.products where name = 'Pro'")[0].get(0);
    s.take_log();
    // What supabase.rpc('product_prices', { product_id }) runs.
    let rows = s
        .api(
            "anon",
            &format!("select * from public.product_prices(product_id := '{pro}')"),
        )
        .unwrap_or_else(|e| panic!("rpc as anon: {e:?}"));
    let got: Vec<(i64, String, String)> = rows
        .iter()
        .map(|r| (r.get(1), r.get(2), r.get(3)))
        .collect();
    assert_eq!(
        got,
        vec![
            (2700, "eur".into(), "month".into()),
            (2900, "usd".into(), "month".into()),
            (29000, "usd".into(), "year".into()),
        ]
    );
    let log = s.take_log();
    assert_eq!(log.len(), 1, "one request: {log:?}");
    assert_eq!(log[0].path, "/v1/prices");
    assert_eq!(param(&log[0], "product"), Some(pro.as_str()));
    assert_eq!(param(&log[0], "active"), Some("true"));
    // Calling the function is all anon may do: the table behind it stays closed.
    assert_eq!(
        s.api_error("anon", "select * from stripe.prices").code,
        "42501"
    );
}

#[test]
fn the_api_roles_reading_the_foreign_tables_directly_is_permission_denied() {
    let mut s = Supa::new(Key::Vault);
    s.take_log();
    for role in ["anon", "authenticated"] {
        for table in ["stripe.products", "stripe.prices"] {
            let e = s.api_error(role, &format!("select id from {table} limit 1"));
            assert_eq!(e.code, "42501", "{role} on {table}: {e:?}");
            assert!(e.message.contains("permission denied"), "{e:?}");
        }
    }
    // Usage on the schema (a common mistake) still leaves the tables closed.
    s.owner_sql("grant usage on schema stripe to anon");
    let e = s.api_error("anon", "select id from stripe.products limit 1");
    assert_eq!(e.code, "42501", "{e:?}");
    assert!(e.message.contains("products"), "{e:?}");
    assert!(s.take_log().is_empty(), "nothing may reach Stripe");
}

#[test]
fn a_foreign_table_exposed_to_anon_by_mistake_does_not_use_the_owners_key() {
    let mut s = Supa::new(Key::Vault);
    // Imported into public, the table is granted to the API roles by Supabase's default privileges.
    s.owner_sql(
        "import foreign schema stripe limit to (products) from server stripe_server into public",
    );
    let granted: bool =
        s.owner_query("select has_table_privilege('anon', 'public.products', 'select')")[0].get(0);
    assert!(granted, "Supabase's default privileges grant it to anon");
    s.take_log();
    // anon reads it directly: the user mapping is anon's (it has none), never the table owner's.
    let e = s.api_error("anon", "select id from public.products");
    assert_eq!(e.code, "HV00J", "no key for anon: {e:?}");
    assert!(!e.all_text().contains(OWNER_KEY), "{e:?}");
    assert!(s.take_log().is_empty(), "nothing may reach Stripe");
}

#[test]
fn anon_reads_the_cached_catalog_with_the_grants_of_docs_cache_md() {
    let mut s = Supa::new(Key::Vault);
    // As the owner (Supabase's postgres, not a superuser), as docs/supabase.md does it.
    s.owner_sql("select stripe_fdw.create_cache()");
    s.owner_sql("call stripe_fdw.refresh_cache()");
    s.owner_sql(
        "grant usage on schema stripe_cache to anon, authenticated;
         grant select on stripe_cache.catalog to anon, authenticated;",
    );
    s.take_log();
    let catalog = "select name from stripe_cache.catalog order by sort_index";
    assert_eq!(s.api_strings("anon", catalog), ["Hobby", "Pro", "Team"]);
    let pro_prices = s.api_strings(
        "anon",
        "select jsonb_array_length(prices)::text from stripe_cache.catalog where name = 'Pro'",
    );
    assert_eq!(pro_prices, ["3"]);
    // Or, with only `public` exposed (Supabase's default), a view over it (docs/supabase.md).
    s.owner_sql(
        "create view public.plans as
           select id, name, description, prices from stripe_cache.catalog order by sort_index;
         revoke all on public.plans from anon, authenticated, service_role;
         grant select on public.plans to anon, authenticated;",
    );
    assert_eq!(
        s.api_strings("anon", "select name from public.plans"),
        ["Hobby", "Pro", "Team"]
    );
    // Stripe unreachable: the cache still answers, and reading it never calls Stripe.
    s.fake.set_faults(FaultConfig {
        latency_ms: 0,
        rules: vec![rule(FaultKind::Drop)],
    });
    assert_eq!(
        s.api_strings("authenticated", catalog),
        ["Hobby", "Pro", "Team"]
    );
    assert!(s.take_log().is_empty(), "reading the cache made no request");
    // Only the catalog is granted: the cache's tables and the live tables stay closed.
    for table in [
        "stripe_cache.prices",
        "stripe_cache.products",
        "stripe.products",
    ] {
        let e = s.api_error("anon", &format!("select id from {table} limit 1"));
        assert_eq!(e.code, "42501", "{table}: {e:?}");
    }
}

/// A role with USAGE on the wrapper (and no Vault access) makes a server pointing at its own
/// listener with `api_key_name 'stripe'`, a foreign table and a view over it, readable by all.
/// Two roles that can read Vault read `relation` (the view or the table): the read must fail and
/// the listener receive nothing.
fn attackers_server_read_by_vault_readers(relation: &str) {
    let mut s = Supa::platform();
    let listener = Listener::start();
    let attacker = s.role("attacker", "nosuperuser");
    s.admin_sql(&format!(
        "grant usage on foreign data wrapper stripe_wrapper to {attacker};
         create schema evil authorization {attacker};"
    ));
    let (mut evil, _) = s.connect_as(&attacker);
    evil.batch_execute(&format!(
        "create server evil_server foreign data wrapper stripe_wrapper
           options (api_url 'http://127.0.0.1:{}/v1', api_key_name 'stripe',
                    max_retries '0', request_timeout '2s');
         create foreign table evil.products (id text, name text)
           server evil_server options (object 'products');
         create view evil.products_view as select id, name from evil.products;
         grant usage on schema evil to public;
         grant select on evil.products, evil.products_view to public;",
        listener.port
    ))
    .unwrap_or_else(|e| panic!("the attacker's setup: {}", describe(&e)));
    // The attacker cannot read Vault itself.
    let denied = evil.query("select decrypted_secret from vault.decrypted_secrets", &[]);
    assert!(denied.is_err(), "the attacker must not read Vault");
    // Two readers who can read Vault: the platform's superuser and the owner (Supabase's postgres,
    // e.g. in the dashboard's SQL editor or table editor).
    let owner = s.owner.clone();
    let (mut owner_db, _) = s.connect_as(&owner);
    for (who, db) in [
        ("supabase_admin", &mut s.admin),
        ("the owner", &mut owner_db),
    ] {
        let result = db.query(&format!("select * from {relation}"), &[]);
        let e = match result {
            Ok(rows) => panic!("{who} read {relation}: {} rows", rows.len()),
            Err(e) => DbErr::from(&e),
        };
        assert!(!e.all_text().contains(OWNER_KEY), "{e:?}");
        assert_eq!(
            listener.connections(),
            0,
            "{who} reading {relation} connected to the attacker's server, which received: {:?}",
            listener.received()
        );
    }
    assert!(!listener.received().contains(OWNER_KEY));
}

/// Issue 10's measured attack: the view runs with its owner's (the attacker's) privileges, so the
/// Vault lookup fails for the attacker and nothing is sent.
#[test]
fn a_wrapper_user_cannot_make_another_role_send_its_vault_secret_to_its_server() {
    attackers_server_read_by_vault_readers("evil.products_view");
}

/// The same server read directly: the reader's privileges are checked, but the secret's name is
/// the attacker's choice, so a server-level Vault reference must not be resolved with the reader's
/// access to Vault (e.g. resolve it with the server owner's).
#[test]
fn reading_a_wrapper_users_foreign_table_directly_does_not_send_the_readers_vault_secret() {
    attackers_server_read_by_vault_readers("evil.products");
}
