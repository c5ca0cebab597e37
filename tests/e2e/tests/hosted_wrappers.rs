//! Supabase Wrappers' Stripe foreign tables as sources on hosted Supabase, for apps that have them
//! already: mapped from their columns and `attrs`, read through Wrappers by sync() (a few ids one
//! retrieve each, since Wrappers pushes down only a lone `id =`), fed by the stripe-sync function's
//! webhooks. `scripts/hosted-test --wrappers` runs it (it builds Wrappers from ../shared/peers into
//! the clean PostgreSQL copy); not part of make test.

mod hosted_env;
mod starter;

use e2e::*;
use hosted_env::*;

/// What the platform does as a superuser: Wrappers and its wrapper, usable by the database's owner.
const ADMIN_SETUP: &str = r#"
create extension wrappers;
create foreign data wrapper stripe_wrapper handler stripe_fdw_handler validator stripe_fdw_validator;
grant usage on foreign data wrapper stripe_wrapper to {owner};
grant all on wrappers_fdw_stats to {owner};
"#;

/// Wrappers' documented Stripe DDL (a subset of columns and `attrs`), registered as sources.
const SETUP: &str = r#"
create server wr foreign data wrapper stripe_wrapper options (api_url '{fake}', api_key 'sk_test_fake_key');
create schema wr;
create foreign table wr.products (id text, name text, active bool, default_price text, description text,
                                  created timestamp, updated timestamp, attrs jsonb)
  server wr options (object 'products', rowid_column 'id');
create foreign table wr.prices (id text, active bool, currency text, product text, unit_amount bigint,
                                type text, created timestamp, attrs jsonb)
  server wr options (object 'prices');
select stripe_fdw.create_account('stripe', 'stripe_webhook_secret');
select stripe_fdw.add_source('wr.products');
select stripe_fdw.add_source('wr.prices');
select stripe_fdw.create_sync('public.products', 'wr.products',
    '{"image": "attrs -> ''images'' ->> 0", "metadata": "attrs -> ''metadata''"}');
select stripe_fdw.create_sync('public.prices', 'wr.prices', '{
    "product_id": "product",
    "interval": "attrs -> ''recurring'' ->> ''interval''",
    "interval_count": "(attrs -> ''recurring'' ->> ''interval_count'')::int",
    "trial_period_days": "coalesce((attrs -> ''recurring'' ->> ''trial_period_days'')::int, 0)"
}');
"#;

#[test]
#[ignore = "run by scripts/hosted-test --wrappers, with Supabase Wrappers built into the clean PostgreSQL"]
fn wrappers_tables_are_sources_read_and_fed() {
    let mut h = Hosted::with(Catalog::Demo, 50, ADMIN_SETUP, SETUP);

    // sync() reads through Wrappers' tables.
    h.exec("call stripe_fdw.sync()");
    h.assert_in_sync("sync() through Wrappers");

    // A few ids are one retrieve each, never a list of everything.
    let ids: Vec<String> = h
        .q("select id from public.products order by id limit 2")
        .iter()
        .map(|r| r.get(0))
        .collect();
    h.oracle.fake.clear_log();
    h.exec(&format!(
        "begin; select count(*) from stripe_fdw._sync_stage(array['public.products'::regclass], array['{}', '{}']); commit",
        ids[0], ids[1]
    ));
    let paths: Vec<String> = h
        .oracle
        .fake
        .log()
        .iter()
        .map(|e| format!("{} {}", e.method, e.path))
        .collect();
    let mut want: Vec<String> = ids
        .iter()
        .map(|i| format!("GET /v1/products/{i}"))
        .collect();
    let mut got = paths.clone();
    got.sort();
    want.sort();
    assert_eq!(got, want, "one retrieve per id: {paths:?}");

    // The function's webhooks feed the same tables, mapped from Wrappers' columns and attrs.
    let (_, secret) = h.setup_endpoint();
    let p = ids[0].clone();
    h.stripe(
        "POST",
        &format!("/products/{p}"),
        "name=Through%20Wrappers&images[0]=https%3A%2F%2Fexample.com%2Fa.png",
    );
    let ev = h.event_for("product.updated", &p);
    assert_eq!(h.deliver(&ev, &secret), 200);
    h.assert_in_sync("after a webhook");
    // And the worker's runs (its first full sync, then catch-up).
    h.worker_until_done();
    h.assert_in_sync("after the worker");
}
