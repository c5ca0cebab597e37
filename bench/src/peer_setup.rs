//! The side-by-side schemas: Supabase Wrappers' Stripe wrapper and stripe_fdw (at max_concurrency
//! default, 1 and 16) over the same fake Stripe, with the same DDL for every table.

use postgres::Client;

/// The systems measured, as (label, schema).
pub const WRAPPERS: (&str, &str) = ("Wrappers 0.6.2", "peer");
pub const OURS: [(&str, &str, Option<u32>); 3] = [
    ("stripe_fdw defaults (max_concurrency 4)", "ours", None),
    ("stripe_fdw max_concurrency 1", "ours_c1", Some(1)),
    ("stripe_fdw max_concurrency 16", "ours_c16", Some(16)),
];

/// The same column list for both extensions (Wrappers' documented DDL, `timestamp` included).
pub const TABLES: [(&str, &str); 2] = [
    (
        "products",
        "id text, name text, active bool, default_price text, description text, \
         created timestamp, updated timestamp, attrs jsonb",
    ),
    (
        "prices",
        "id text, active bool, currency text, product text, unit_amount bigint, type text, \
         created timestamp, attrs jsonb",
    ),
];

/// Create both extensions (Wrappers' functions in schema `peer_ext`, so its `stripe_fdw_handler`
/// does not meet ours), a server per system and the foreign tables.
pub fn setup(db: &mut Client, base_url: &str, api_key: &str) {
    let mut sql = format!(
        "create extension if not exists stripe_fdw;
         create schema if not exists peer_ext;
         create extension if not exists wrappers schema peer_ext;
         do $$ begin
           if not exists (select 1 from pg_foreign_data_wrapper where fdwname = 'stripe_wrapper') then
             create foreign data wrapper stripe_wrapper handler stripe_fdw_handler validator stripe_fdw_validator;
           end if;
           if not exists (select 1 from pg_foreign_data_wrapper where fdwname = 'peer_wrapper') then
             create foreign data wrapper peer_wrapper handler peer_ext.stripe_fdw_handler
               validator peer_ext.stripe_fdw_validator;
           end if;
         end $$;
         drop server if exists peer_srv cascade;
         drop schema if exists {s} cascade;
         create schema {s};
         create server peer_srv foreign data wrapper peer_wrapper
           options (api_url '{base_url}', api_key '{api_key}');",
        s = WRAPPERS.1
    );
    for (_, schema, mc) in OURS {
        let opt = mc.map_or(String::new(), |n| format!(", max_concurrency '{n}'"));
        sql.push_str(&format!(
            "drop server if exists {schema}_srv cascade;
             drop schema if exists {schema} cascade;
             create schema {schema};
             create server {schema}_srv foreign data wrapper stripe_wrapper
               options (api_url '{base_url}'{opt});
             create user mapping for current_user server {schema}_srv options (api_key '{api_key}');"
        ));
    }
    let servers = std::iter::once((WRAPPERS.1, "peer_srv".to_string()))
        .chain(OURS.iter().map(|(_, s, _)| (*s, format!("{s}_srv"))));
    for (schema, server) in servers {
        for (table, cols) in TABLES {
            sql.push_str(&format!(
                "create foreign table {schema}.{table} ({cols}) server {server} options (object '{table}');"
            ));
        }
    }
    db.batch_execute(&sql).expect("peer setup");
}
