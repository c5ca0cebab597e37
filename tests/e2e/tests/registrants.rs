//! A registration acts only for its registrant (issue 18, finding 3) and handle_webhook finds its
//! server without guessing (finding 4): create_sync refuses a table the caller does not own; a
//! call applies, and evaluates the expressions of, only the registrations of roles it acts for; a
//! registered table dropped and made again by another role is skipped; a missing table shows in
//! sync_status; another role's stripe_fdw server never makes a delivery fail, and no error sent
//! back to the route names a server.
//!
//! Each test has a database of its own (the starter's tables, synced, with a webhook secret).

mod hooks;
mod race;
mod starter;

use e2e::*;
use hooks::*;
use race::*;
use starter::*;

#[test]
fn create_sync_refuses_a_table_the_caller_does_not_own() {
    let mut env = hooked(Catalog::Demo);
    let owner = role(&mut env, "owner");
    let intruder = role(&mut env, "intruder");
    env.exec(&format!(
        "create table public.accounts (id text primary key, name text);
         alter table public.accounts owner to {owner};
         grant all on public.accounts to {intruder};"
    ));
    env.exec(&format!("set role {intruder}"));
    let err = env.error("select stripe_fdw.create_sync('public.accounts', '{s}.products')");
    env.exec("reset role");
    assert_eq!(err.code, "42501", "{err:?}");
    assert!(err.message.contains("only the owner"), "{err:?}");
    // Its owner may, and so may a member of the owner role.
    env.exec(&format!(
        "set role {owner}; select stripe_fdw.create_sync('public.accounts', '{{s}}.products'); reset role"
    ));
    let registrant = env.strings(
        "select registrant::text || '/' || target_owner::text from stripe_fdw.sync_registry where target_name = 'accounts'",
    );
    assert_eq!(registrant, [format!("{owner}/{owner}")]);
}

#[test]
fn a_call_never_runs_another_roles_registration() {
    let mut env = hooked(Catalog::Demo);
    let owner = role(&mut env, "owner");
    let victim = role(&mut env, "victim");
    // The owner's registration calls a function of the owner's: run by whoever syncs it.
    env.exec(&format!(
        "create table public.marker (who text);
         grant insert on public.marker to public;
         create function public.tell(t text) returns text language sql as
           $f$ insert into public.marker values (current_user); select t $f$;
         create table public.owned (id text primary key, name text);
         alter table public.owned owner to {owner};
         set role {owner};
         select stripe_fdw.create_sync('public.owned', '{{s}}.products', '{{\"name\": \"public.tell(name)\"}}');
         reset role;
         grant all on public.owned to {victim};
         grant all on public.products, public.prices to {victim};
         alter role {victim} bypassrls;"
    ));
    env.exec("delete from public.marker");
    env.exec(&format!(
        "set role {victim}; call stripe_fdw.sync(); reset role"
    ));
    assert_eq!(
        env.strings("select who from public.marker"),
        Vec::<String>::new(),
        "the owner's expression ran as the victim"
    );
    env.exec(&format!("set role {victim}"));
    let seen: i64 = env
        .query("select count(*) from stripe_fdw.sync_status where registered = 'public.owned'")[0]
        .get(0);
    env.exec("reset role");
    assert_eq!(
        seen, 0,
        "sync_status shows only the registrations of roles the caller acts for"
    );
    env.exec(&format!("set role {victim}"));
    let err = env.error("call stripe_fdw.sync('public.owned')");
    env.exec("reset role");
    assert_eq!(err.code, "42501", "{err:?}");
    // The owner's own call runs it, as the owner.
    env.exec(&format!(
        "set role {owner}; call stripe_fdw.sync(); reset role"
    ));
    let who = env.strings("select distinct who from public.marker");
    assert_eq!(who, [owner]);
}

#[test]
fn a_registered_table_dropped_and_made_again_by_another_role_is_skipped() {
    let mut env = hooked(Catalog::Demo);
    let owner = role(&mut env, "owner");
    let squatter = role(&mut env, "squatter");
    env.exec(&format!(
        "create table public.plans (id text primary key, name text);
         alter table public.plans owner to {owner};
         set role {owner};
         select stripe_fdw.create_sync('public.plans', '{{s}}.products');
         call stripe_fdw.sync();
         drop table public.plans;
         reset role;
         create table public.marker (who text);
         grant insert on public.marker to public;"
    ));
    // The table is missing: its registration is shown, and says so.
    env.exec(&format!("set role {owner}"));
    let why = env.strings(
        "select coalesce(skipped, '') from stripe_fdw.sync_status where registered = 'public.plans'",
    );
    env.exec("reset role");
    assert!(why[0].contains("missing"), "{why:?}");
    // Someone else makes a table of that name, with a trigger that would act as whoever syncs.
    env.exec(&format!(
        "set role {squatter};
         create table public.plans (id text primary key, name text);
         create function public.grab() returns trigger language plpgsql as $f$
         begin insert into public.marker values (current_user); return new; end $f$;
         create trigger grab before insert or update on public.plans for each row execute function public.grab();
         grant all on public.plans to {owner};
         reset role;"
    ));
    env.notices.lock().expect("notices").clear();
    env.exec(&format!(
        "set role {owner}; call stripe_fdw.sync(); reset role"
    ));
    assert_eq!(
        env.strings("select who from public.marker"),
        Vec::<String>::new()
    );
    let notices = env.notices.lock().expect("notices").clone();
    assert!(
        notices.iter().any(|n| n.starts_with("WARNING")
            && n.contains("public.plans")
            && n.contains(&squatter)),
        "{notices:?}"
    );
    env.exec(&format!("set role {owner}"));
    let why = env.strings(
        "select coalesce(skipped, '') from stripe_fdw.sync_status where registered = 'public.plans'",
    );
    env.exec("reset role");
    assert!(why[0].contains("register it again"), "{why:?}");
}

#[test]
fn another_roles_server_never_makes_a_delivery_fail_and_errors_name_no_server() {
    let mut env = hooked(Catalog::Demo);
    let evil = role(&mut env, "evil");
    env.exec(&format!(
        "grant usage on foreign data wrapper stripe_wrapper to {evil};
         set role {evil};
         create server evil1_{evil} foreign data wrapper stripe_wrapper options (api_url 'http://127.0.0.1:1/v1', webhook_secret 'whsec_evil');
         create server evil2_{evil} foreign data wrapper stripe_wrapper options (api_url 'http://127.0.0.1:1/v1');
         grant usage on foreign server evil1_{evil}, evil2_{evil} to public;
         reset role;"
    ));
    let hobby = product_id(&mut env, "Hobby");
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "name=Still+delivered",
    );
    let evt = event_for(&env, "product.updated", &hobby);
    let (payload, header) = env.fake.webhook(&evt, SECRET, None).expect("event");
    let r = handle(&mut env, &payload, Some(&header), None).expect("applied");
    assert_eq!(r["action"], "applied");
    assert_eq!(
        name_of(&mut env, &hobby).as_deref(),
        Some("Still delivered")
    );

    // A refusal names no server.
    let (payload, header) = env.fake.webhook(&evt, "whsec_wrong", None).expect("event");
    let err = handle(&mut env, &payload, Some(&header), None).expect_err("refused");
    assert_eq!(err.code, "28000", "{err:?}");
    for name in [
        &env.server,
        &format!("evil1_{evil}"),
        &format!("evil2_{evil}"),
    ] {
        assert!(!err.all_text().contains(name.as_str()), "{err:?}");
    }

    // Two servers the caller may use with the same secret: one endpoint shared, said so.
    env.exec(&format!(
        "create server twin foreign data wrapper stripe_wrapper options (api_url '{}', webhook_secret '{SECRET}')",
        env.fake.base_url()
    ));
    let (payload, header) = env.fake.webhook(&evt, SECRET, None).expect("event");
    let err = handle(&mut env, &payload, Some(&header), None).expect_err("ambiguous");
    assert_eq!(err.code, "42725", "{err:?}");
    assert!(!err.all_text().contains("twin"), "{err:?}");
    let server = env.server.clone();
    let named = handle(&mut env, &payload, Some(&header), Some(&server)).expect("named");
    assert_eq!(named["action"], "duplicate");
}

#[test]
fn a_security_definer_wrapper_owned_by_the_registrant_applies_a_delivery_for_another_role() {
    let mut env = hooked(Catalog::Demo);
    let api = role(&mut env, "service");
    // The route's role is not the registrant: alone it would apply nothing of the registrant's.
    let hobby = product_id(&mut env, "Hobby");
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "name=Via+wrapper",
    );
    let evt = event_for(&env, "product.updated", &hobby);
    let mut db = session(&env);
    db.batch_execute(&format!("set role {api}"))
        .expect("set role");
    let err = deliver_in(&mut db, &env, &evt).expect_err("applies nothing: an error, not a record");
    assert!(
        err.contains("42501") && err.contains("has no sync targets"),
        "{err}"
    );
    let recorded: i64 = env.query(&format!(
        "select count(*) from stripe_fdw.webhook_events where id = '{evt}'"
    ))[0]
        .get(0);
    assert_eq!(recorded, 0, "a delivery nobody applied is not recorded");
    // docs/supabase.md: a security definer function owned by the registrant.
    env.exec(&format!(
        "create function public.stripe_webhook(payload text, signature text) returns jsonb
           language sql security definer set search_path = ''
           as $f$ select stripe_fdw.handle_webhook(payload, signature) $f$;
         revoke execute on function public.stripe_webhook(text, text) from public;
         grant execute on function public.stripe_webhook(text, text) to {api};"
    ));
    let (payload, header) = env.fake.webhook(&evt, SECRET, None).expect("event");
    let r: serde_json::Value = db
        .query_one("select public.stripe_webhook($1, $2)", &[&payload, &header])
        .map(|row| row.get(0))
        .expect("applied through the wrapper");
    assert_eq!(r["action"], "applied");
    assert_eq!(name_of(&mut env, &hobby).as_deref(), Some("Via wrapper"));
}

#[test]
fn a_role_without_grant_admin_can_call_nothing_that_writes() {
    let mut env = hooked(Catalog::Demo);
    let anon = format!("anon_{}", env.s);
    env.exec(&format!("create role {anon}"));
    for call in [
        "call stripe_fdw.sync()",
        "call stripe_fdw.catch_up()",
        "call stripe_fdw.refresh_cache()",
        "call stripe_fdw.run_scheduled()",
        "select stripe_fdw.handle_webhook('{}', 't=1,v1=00')",
        "select stripe_fdw.create_sync('public.products', '{s}.products')",
    ] {
        env.exec(&format!("set role {anon}"));
        let err = env.error(call);
        env.exec("reset role");
        assert_eq!(err.code, "42501", "{call}: {err:?}");
    }
}

#[test]
fn a_superuser_or_a_member_never_runs_a_registration_of_another_role() {
    let mut env = hooked(Catalog::Demo);
    let mallory = role(&mut env, "mallory");
    // Mallory's own, legitimate registration, whose expression would make her a superuser if it
    // ran as one.
    env.exec(&format!(
        "create table public.mine (id text primary key, note text);
         alter table public.mine owner to {mallory};
         create function public.promote(t text) returns text language plpgsql as
           $f$ begin
             if pg_catalog.current_setting('is_superuser') = 'on' then
               execute 'alter role {mallory} superuser';
             end if;
             return t;
           end $f$;
         set role {mallory};
         select stripe_fdw.create_sync('public.mine', '{{s}}.products', '{{\"note\": \"public.promote(name)\"}}');
         reset role;
         grant {mallory} to current_user;"
    ));
    // The superuser, also a member of mallory now, syncs everything of its own.
    env.exec("call stripe_fdw.sync()");
    let superuser: bool = env.query(&format!(
        "select rolsuper from pg_roles where rolname = '{mallory}'"
    ))[0]
        .get(0);
    assert!(!superuser, "mallory's expression ran as the superuser");
    let rows: i64 = env.query("select count(*) from public.mine")[0].get(0);
    assert_eq!(rows, 0, "not applied: only mallory applies it");
}

#[test]
fn a_role_given_grant_admin_cannot_write_another_roles_registration() {
    let mut env = hooked(Catalog::Demo);
    let mallory = role(&mut env, "mallory");
    env.exec(&format!("set role {mallory}"));
    // The starter's registrations are the superuser's: hidden, and out of reach.
    let seen: i64 = env.query("select count(*) from stripe_fdw.sync_registry")[0].get(0);
    assert_eq!(seen, 0);
    env.exec(
        "update stripe_fdw.sync_registry set columns = '{\"name\": \"''pwned''\"}' where target_name = 'products'",
    );
    let forged = env.error(
        "insert into stripe_fdw.sync_registry (target_schema, target_name, source_schema, source_name, columns, registrant, target_owner)
         values ('public', 'products', '{s}', 'products', '{}', 'postgres', 'postgres')",
    );
    env.exec("reset role");
    assert_eq!(forged.code, "42501", "{forged:?}");
    let columns = env.strings(
        "select columns::text from stripe_fdw.sync_registry where target_name = 'products'",
    );
    assert_eq!(columns.len(), 1);
    assert!(!columns[0].contains("pwned"), "{columns:?}");
}

#[test]
fn a_temporary_table_prepared_by_the_caller_is_never_written_by_a_security_definer_call() {
    let mut env = hooked(Catalog::Demo);
    let owner = role(&mut env, "owner");
    let caller = format!("caller_{}", env.s);
    // The owner's registration it cannot use (so the engine records a skip), and a wrapper.
    env.exec(&format!(
        "create role {caller};
         create schema hidden;
         grant usage on schema hidden to {owner};
         create table hidden.t (id text primary key, name text);
         alter table hidden.t owner to {owner};
         set role {owner};
         select stripe_fdw.create_sync('hidden.t', '{{s}}.products');
         create function public.resync() returns void language plpgsql security definer set search_path = ''
           as $f$ begin perform pg_catalog.count(*) from stripe_fdw.sync_status; call stripe_fdw.sync(); end $f$;
         reset role;
         revoke usage on schema hidden from {owner};
         grant execute on function public.resync() to {caller};
         create table public.marker (who text);
         grant insert on public.marker to public;"
    ));
    let mut db = session(&env);
    let prepared = db.batch_execute(&format!(
        "set role {caller};
         create temp table stripe_fdw_skips (rel oid primary key, why text);
         grant all on pg_temp.stripe_fdw_skips to public;
         create function pg_temp.grab() returns trigger language plpgsql as $f$
         begin insert into public.marker values (current_user); return null; end $f$;
         create trigger grab before insert or delete on pg_temp.stripe_fdw_skips
           for each statement execute function pg_temp.grab();"
    ));
    prepared
        .map_err(|e| describe(&e))
        .expect("the caller's own temp table");
    let r = db.batch_execute("select public.resync()");
    let err = r.map_err(|e| describe(&e)).expect_err("refused");
    assert!(err.contains("did not make"), "{err}");
    assert_eq!(
        env.strings("select who from public.marker"),
        Vec::<String>::new()
    );
}

#[test]
fn a_registrant_renamed_keeps_its_registrations() {
    let mut env = hooked(Catalog::Demo);
    let owner = role(&mut env, "owner");
    env.exec(&format!(
        "create table public.kept (id text primary key, name text);
         alter table public.kept owner to {owner};
         set role {owner};
         select stripe_fdw.create_sync('public.kept', '{{s}}.products');
         reset role;
         alter role {owner} rename to {owner}_2;
         set role {owner}_2;
         call stripe_fdw.sync();
         reset role;"
    ));
    let rows: i64 = env.query("select count(*) from public.kept")[0].get(0);
    assert!(rows > 0, "the renamed registrant's sync applied it");
    let registrant = env.strings(
        "select registrant::text from stripe_fdw.sync_registry where target_name = 'kept'",
    );
    assert_eq!(registrant, [format!("{owner}_2")]);
}

#[test]
fn the_events_and_the_webhook_check_use_a_servers_key_only_for_roles_that_may_use_it() {
    let mut env = hooked(Catalog::Demo);
    env.exec("alter server {server} options (add api_key 'sk_test_fake_key')");
    let outsider = format!("outsider_{}", env.s);
    env.exec(&format!(
        "create role {outsider}; select stripe_fdw.grant_admin('{outsider}');"
    ));
    env.exec(&format!("set role {outsider}"));
    let events = env.error(
        "select * from stripe_fdw._stripe_events((select oid from pg_foreign_server where srvname = '{server}'), null, true, array['product.created'])",
    );
    let verify = env.error(
        "select stripe_fdw._verify_webhook((select oid from pg_foreign_server where srvname = '{server}'), '{}', 't=1,v1=00')",
    );
    env.exec("reset role");
    assert_eq!(events.code, "42501", "{events:?}");
    assert_eq!(verify.code, "42501", "{verify:?}");
}

#[test]
fn a_search_path_set_by_the_caller_of_a_wrapper_never_reaches_the_owners_triggers() {
    let mut env = hooked(Catalog::Demo);
    let owner = role(&mut env, "owner");
    let caller = format!("caller_{}", env.s);
    let db_name = env.own_database.clone().expect("own database");
    // The owner's table has a trigger with an unqualified name, and a wrapper pinned the way
    // PostgreSQL advises for security definer functions.
    env.exec(&format!(
        "create role {caller};
         grant create on database {db_name} to {caller};
         create table public.prods (id text primary key, name text);
         alter table public.prods owner to {owner};
         create function public.audit_write() returns trigger language plpgsql as $f$
         begin insert into audit values (current_user, new.id); return new; end $f$;
         create trigger audit_write after insert on public.prods for each row execute function public.audit_write();
         set role {owner};
         select stripe_fdw.create_sync('public.prods', '{{s}}.products');
         create function public.do_sync() returns void language plpgsql security definer
           set search_path = pg_catalog, pg_temp as $f$ begin call stripe_fdw.sync(); end $f$;
         reset role;
         grant execute on function public.do_sync() to {caller};
         create table public.marker (who text);
         grant insert on public.marker to public;"
    ));
    // The caller's own schema holds an audit table whose trigger would run as the owner, and
    // the caller names it in the engine's setting before calling the wrapper.
    let mut db = session(&env);
    db.batch_execute(&format!(
        "set role {caller};
         create schema trap_{caller};
         create table trap_{caller}.audit (who text, id text);
         grant usage on schema trap_{caller} to public;
         grant all on trap_{caller}.audit to public;
         create function trap_{caller}.evil() returns trigger language plpgsql as $f$
         begin insert into public.marker values (current_user); return new; end $f$;
         create trigger evil before insert on trap_{caller}.audit for each row execute function trap_{caller}.evil();
         set stripe_fdw_engine.caller_search_path = 'trap_{caller}, public';"
    ))
    .map_err(|e| describe(&e))
    .expect("the caller's preparations");
    // The owner's trigger sees the wrapper's own search_path: no audit there, so the sync fails
    // (the owner's trigger needs a qualified name) and the caller's code never runs.
    let r = db
        .batch_execute("select public.do_sync()")
        .map_err(|e| describe(&e));
    assert!(r.as_ref().is_err_and(|e| e.contains("audit")), "{r:?}");
    assert_eq!(
        env.strings("select who from public.marker"),
        Vec::<String>::new()
    );
}

#[test]
fn a_cache_owner_renamed_keeps_its_caches() {
    let mut env = hooked(Catalog::Demo);
    let owner = role(&mut env, "owner");
    env.exec(&format!(
        "grant create on database {} to {owner};
         set role {owner};
         select stripe_fdw.create_cache('{{s}}', 'rc_{owner}');
         call stripe_fdw.refresh_cache();
         reset role;
         alter role {owner} rename to {owner}_2;",
        env.own_database.clone().expect("own database")
    ));
    env.exec(&format!("set role {owner}_2"));
    let visible: i64 = env.query("select count(*) from stripe_fdw.cache_status")[0].get(0);
    env.exec("call stripe_fdw.refresh_cache()");
    env.exec("reset role");
    assert!(
        visible >= 2,
        "the renamed owner still sees its caches: {visible}"
    );
    // A new role with the old name takes nothing over.
    env.exec(&format!(
        "create role {owner}; select stripe_fdw.grant_admin('{owner}')"
    ));
    env.exec(&format!("set role {owner}"));
    let taken: i64 = env.query("select count(*) from stripe_fdw.cache_registry")[0].get(0);
    env.exec("reset role");
    assert_eq!(taken, 0);
}

#[test]
fn a_stale_or_forged_registration_of_another_role_never_makes_a_delivery_fail() {
    let mut env = hooked(Catalog::Demo);
    let adm = role(&mut env, "adm");
    env.exec(&format!(
        "revoke select on all tables in schema {{s}} from {adm}"
    ));
    // A row in its own name, for a table it owns, from a source it cannot read.
    env.exec(&format!(
        "create table public.mine (id text primary key);
         alter table public.mine owner to {adm};
         set role {adm};
         insert into stripe_fdw.sync_registry (target_schema, target_name, source_schema, source_name, columns, registrant, target_owner)
         values ('public', 'mine', '{{s}}', 'prices', '{{}}', '{adm}', '{adm}');
         reset role;"
    ));
    let hobby = product_id(&mut env, "Hobby");
    let price = env.strings(&format!(
        "select id from public.prices where product_id = '{hobby}' limit 1"
    ));
    stripe_ok(
        &env,
        "POST",
        &format!("/prices/{}", price[0]),
        "active=false",
    );
    let evt = event_for(&env, "price.updated", &price[0]);
    assert_eq!(deliver(&mut env, &evt)["action"], "applied");
}
