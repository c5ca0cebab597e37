//! A hostile session never gets stripe_fdw to run its code: every path where the Rust side runs SQL
//! (the Vault lookups of a scan, of the webhook check and of the events list) is taken by a role
//! whose session shadows the catalogs with temporary views and puts its own `=`, `lower` and `text`
//! first in search_path. Their code would leave a mark and make the attacker a member of whatever
//! role ran it; the mark stays empty and no role is granted. And the tables IMPORT FOREIGN SCHEMA
//! makes have pg_catalog's types whatever the importer's search_path holds.

use e2e::supabase::{Key, Supa, PRICING_VIEW, PRODUCT_PRICES};
use e2e::{describe, DbErr};
use postgres::Client;

/// What the attacker's code does wherever it runs: count itself in a sequence (which a rolled-back
/// statement keeps), write a row naming the role it ran as, and try to grant that role to the
/// attacker.
const MARK_BODY: &str = "
begin
  perform pg_catalog.nextval('public.hostile_runs');
  insert into public.hostile_marker values (current_user, via);
  begin
    execute pg_catalog.format('grant %I to %I', current_user, '{me}');
  exception when others then null;
  end;
  return true;
end";

/// Catalogs shadowed by temporary views that run the attacker's code for every row they are asked.
const SHADOWED: &[&str] = &[
    "pg_namespace",
    "pg_class",
    "pg_type",
    "pg_proc",
    "pg_operator",
    "pg_roles",
    "pg_auth_members",
    "pg_database",
    "pg_settings",
    "pg_extension",
    "pg_foreign_data_wrapper",
    "pg_foreign_server",
    "pg_foreign_table",
    "pg_user_mappings",
];

/// The attacker's objects, made in its own session: `pg_temp.mark` and temporary views named like
/// the catalogs and Vault's views; in schema `{schema}` (which it owns): `mark`, operators `=` on
/// name and text, `lower(text)` and a domain `text`, each calling `mark`. Then search_path puts
/// `{schema}` before pg_catalog and leaves pg_temp out, so temporary objects are searched first.
fn arm(db: &mut Client, me: &str, schema: &str) {
    let body = MARK_BODY.replace("{me}", me);
    let mut sql = format!(
        "create function pg_temp.mark(via text) returns boolean language plpgsql as $f${body}$f$;
         create function {schema}.mark(via text) returns boolean language plpgsql as $f${body}$f$;
         grant usage on schema {schema} to public;"
    );
    for (name, left, right) in [
        ("eq", "name", "name"),
        ("eq", "name", "text"),
        ("eq", "text", "text"),
    ] {
        sql.push_str(&format!(
            "create function {schema}.{name}(a {left}, b {right}) returns boolean language plpgsql
               as $f$ begin perform {schema}.mark('=({left},{right})');
                            return a operator(pg_catalog.=) b; end $f$;
             create operator {schema}.= (leftarg = {left}, rightarg = {right},
                                         function = {schema}.{name});"
        ));
    }
    sql.push_str(&format!(
        "create function {schema}.lower(t text) returns text language plpgsql
           as $f$ begin perform {schema}.mark('lower'); return pg_catalog.lower(t); end $f$;
         create domain {schema}.text as pg_catalog.text check ({schema}.mark('text'));
         create domain {schema}.jsonb as pg_catalog.jsonb check ({schema}.mark('jsonb'));"
    ));
    for catalog in SHADOWED {
        sql.push_str(&format!(
            "create temp view {catalog} as
               select t.* from pg_catalog.{catalog} t where pg_temp.mark('{catalog}');
             grant select on pg_temp.{catalog} to public;"
        ));
    }
    for view in ["decrypted_secrets", "secrets"] {
        sql.push_str(&format!(
            "create temp view {view} as
               select null::pg_catalog.uuid as id, null::pg_catalog.uuid as key_id,
                      'stripe'::pg_catalog.text as name,
                      'sk_test_theAttackers'::pg_catalog.text as decrypted_secret
                where pg_temp.mark('{view}');
             grant select on pg_temp.{view} to public;"
        ));
    }
    sql.push_str(&format!("set search_path = {schema}, pg_catalog, public;"));
    db.batch_execute(&sql)
        .unwrap_or_else(|e| panic!("arming {me}'s session: {}", describe(&e)));
}

/// A login role of the test whose session is armed, with a schema of its own.
fn hostile_role(s: &mut Supa, name: &str) -> (String, Client) {
    let role = s.role(name, "nosuperuser");
    let schema = format!("{name}_tools");
    s.admin_sql(&format!("create schema {schema} authorization {role}"));
    let (mut db, _) = s.connect_as(&role);
    arm(&mut db, &role, &schema);
    (role, db)
}

fn strings(db: &mut Client, sql: &str) -> Result<Vec<String>, DbErr> {
    db.query(sql, &[])
        .map(|rows| rows.iter().map(|r| r.get::<_, String>(0)).collect())
        .map_err(|e| DbErr::from(&e))
}

/// Every path, taken by a role only in `anon` (the view, the function and a table on a server
/// whose Vault secret is read as its owner) and by a role with stripe_fdw's admin rights (the
/// events list and the webhook check, with Vault secrets named in server options).
#[test]
fn a_hostile_session_never_runs_its_code_in_stripe_fdws_sql() {
    let mut s = Supa::new(Key::Vault);
    s.owner_sql(PRICING_VIEW);
    s.owner_sql(PRODUCT_PRICES);
    // Vault decrypting through a function written without a search_path of its own: its body is
    // parsed when it runs, with whatever search_path is in force then (NULLIF's `=` included).
    s.admin_sql(
        "create function vault.reveal(secret text) returns text language sql stable
           as $$ select nullif(secret, '') $$;
         create or replace view vault.decrypted_secrets as
           select id, name, description, secret, vault.reveal(secret) as decrypted_secret,
                  key_id, created_at, updated_at
             from vault.secrets;",
    );
    s.owner_sql("select vault.create_secret('whsec_hostileTest', 'stripe_webhook')");
    let secret_id: String =
        s.owner_query("select id::text from vault.secrets where name = 'stripe'")[0].get(0);
    // A second server whose key and webhook secret are named in its options: read as its owner,
    // whoever reads a table of it. By id, so that the id lookup's SQL runs too.
    s.owner_sql(&format!(
        "create server shared_server foreign data wrapper stripe_wrapper
           options (api_url '{}', api_key_id '{secret_id}', webhook_secret_name 'stripe_webhook');
         create schema shared;
         import foreign schema stripe limit to (products) from server shared_server into shared;
         grant usage on schema shared to anon;
         grant select on shared.products to anon;",
        s.fake.base_url()
    ));
    let pro: String = s.owner_query("select id from stripe.products where name = 'Pro'")[0].get(0);
    s.admin_sql(
        "create sequence public.hostile_runs;
         create table public.hostile_marker (ran_as text, via text);
         grant usage on sequence public.hostile_runs to public;
         grant select, insert on public.hostile_marker to public;",
    );
    let (intruder, mut intruder_db) = hostile_role(&mut s, "intruder");
    s.admin_sql(&format!("grant anon to {intruder}"));
    let (ops, mut ops_db) = hostile_role(&mut s, "ops");
    // An operator of the app: it runs the engine's calls, and may use the server.
    s.admin_sql(&format!(
        "select stripe_fdw.grant_admin('{ops}'); grant usage on foreign server shared_server to {ops}"
    ));
    let server = "(select oid from pg_catalog.pg_foreign_server
                    where srvname operator(pg_catalog.=) 'shared_server')";

    let reads = [
        (
            "the owner's view",
            strings(&mut intruder_db, "select name from public.pricing"),
        ),
        (
            "the owner's security definer function",
            strings(
                &mut intruder_db,
                &format!("select id from public.product_prices('{pro}')"),
            ),
        ),
        (
            "a foreign table with a server's Vault key",
            strings(&mut intruder_db, "select id from shared.products"),
        ),
        (
            "the events list",
            strings(
                &mut ops_db,
                &format!(
                    "select count(*)::pg_catalog.text
                       from stripe_fdw._stripe_events({server}, null, true, stripe_fdw._event_types())"
                ),
            ),
        ),
    ];
    let webhook = strings(
        &mut ops_db,
        &format!(
            "select stripe_fdw._verify_webhook({server}, '{{}}', 't=1,v1=00')::pg_catalog.text"
        ),
    );

    let runs: i64 = s
        .admin
        .query_one(
            "select case when is_called then last_value else 0 end from public.hostile_runs",
            &[],
        )
        .expect("the attacker's counter")
        .get(0);
    let marks: Vec<String> = s
        .admin
        .query(
            "select ran_as || ' via ' || via from public.hostile_marker",
            &[],
        )
        .expect("the attacker's marks")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let granted: Vec<String> = s
        .admin
        .query(
            "select m.member::regrole::text || ' in ' || m.roleid::regrole::text
               from pg_auth_members m
              where m.member in ($1::text::regrole, $2::text::regrole)
                and m.roleid <> 'anon'::regrole",
            &[&intruder, &ops],
        )
        .expect("memberships")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        runs == 0 && marks.is_empty() && granted.is_empty(),
        "the attacker's code ran {runs} times, as: {marks:?}; roles granted: {granted:?}"
    );
    // The paths themselves still work under the hostile session, with the real Vault.
    for (what, result) in reads {
        let rows = result.unwrap_or_else(|e| panic!("{what}: {e:?}"));
        assert!(!rows.is_empty(), "{what} returned no rows");
    }
    let e = webhook.expect_err("a forged webhook must be refused");
    assert_eq!(e.code, "28000", "the secret was read and checked: {e:?}");
}

/// The statements IMPORT FOREIGN SCHEMA issues are parsed with the importer's search_path: with a
/// schema of someone else's listed before pg_catalog, holding domains `text` and `jsonb`, the
/// imported columns still have pg_catalog's types.
#[test]
fn imported_tables_have_pg_catalogs_types_whatever_the_search_path() {
    let mut s = Supa::new(Key::Vault);
    let (_, _mallory_db) = hostile_role(&mut s, "mallory");
    s.owner_sql(
        "set search_path = mallory_tools, pg_catalog, public;
         create schema imported;
         import foreign schema stripe from server stripe_server into imported;
         reset search_path;",
    );
    let foreign: Vec<String> = s
        .owner_query(
            "select c.relname || '.' || a.attname || ' ' || a.atttypid::regtype::text
               from pg_attribute a
               join pg_class c on c.oid = a.attrelid
               join pg_type t on t.oid = a.atttypid
              where c.relnamespace = 'imported'::regnamespace and a.attnum > 0
                and t.typnamespace <> 'pg_catalog'::regnamespace",
        )
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        foreign.is_empty(),
        "columns of other schemas' types: {foreign:?}"
    );
    let columns: i64 = s.owner_query(
        "select count(*) from pg_attribute a join pg_class c on c.oid = a.attrelid
          where c.relnamespace = 'imported'::regnamespace and a.attnum > 0",
    )[0]
    .get(0);
    assert!(columns > 10, "the import made tables: {columns} columns");
}
