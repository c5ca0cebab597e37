//! The ways sync, webhooks, catch-up and the schedule went wrong together (issue 17's scenarios
//! 2 to 6 and 8; the first is in interleavings.rs, the seventh is stress.rs): a failing server,
//! a failed reconciliation, a unique value moving between rows, row-level security, a target the
//! caller cannot reach, and the app's triggers.
//!
//! Each test has a database of its own (the starter's tables, synced, with a webhook secret).

mod hooks;
mod race;
mod starter;

use e2e::*;
use hooks::*;
use race::*;
use starter::*;

/// A second Stripe account on a second server, feeding public.products2.
fn second_server(env: &mut Env) -> FakeStripe {
    let fake2 = FakeStripe::start(Config {
        catalog: Catalog::Demo,
        ..Config::default()
    })
    .expect("start the second fake");
    env.exec(&format!(
        "create server srv2 foreign data wrapper stripe_wrapper options (api_url '{}');
         create user mapping for current_user server srv2 options (api_key '{DEFAULT_API_KEY}');
         create schema s2;
         import foreign schema stripe limit to (products) from server srv2 into s2;
         create table public.products2 (id text primary key, name text);
         select stripe_fdw.create_sync('public.products2', 's2.products');
         call stripe_fdw.sync();",
        fake2.base_url()
    ));
    fake2
}

#[test]
fn one_failing_server_stops_neither_another_servers_catch_up_nor_the_stale_caches() {
    let mut env = hooked(Catalog::Demo);
    let _fake2 = second_server(&mut env);
    env.exec("select stripe_fdw.create_cache('{s}', '{s}_cache'); call stripe_fdw.refresh_cache()");
    env.exec(
        "alter server srv2 options (set api_url 'http://127.0.0.1:1/v1', add max_retries '0')",
    );
    let hobby = product_id(&mut env, "Hobby");
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "name=Still+applied",
    );
    let cursor =
        "select coalesce(event_id, '') from stripe_fdw.event_cursor where server = '{server}'";
    let before = env.strings(cursor);

    let err = env.error("call stripe_fdw.catch_up()");
    assert_eq!(
        err.code, "HV00N",
        "the failing server's error still ends the call: {err:?}"
    );
    assert_eq!(name_of(&mut env, &hobby).as_deref(), Some("Still applied"));
    assert_ne!(
        env.strings(cursor),
        before,
        "the healthy server's starting point moved"
    );
    let recorded = env.strings(
        "select coalesce(last_error, '') from stripe_fdw.sync_status where target = 'public.products2'::regclass",
    );
    assert!(recorded[0].contains("catch_up"), "{recorded:?}");
    let server_error = env.strings(
        "select coalesce(last_error, '') from stripe_fdw.event_cursor where server = 'srv2'",
    );
    assert!(!server_error[0].is_empty());

    // The schedule: catch-up fails for srv2, and the caches marked stale are refreshed anyway.
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "name=Cached+anyway",
    );
    let err = env.error("call stripe_fdw.run_scheduled()");
    assert_eq!(err.code, "HV00N", "{err:?}");
    let cached = env.strings(&format!(
        "select name from {}_cache.products where id = '{hobby}'",
        env.s
    ));
    assert_eq!(cached, ["Cached anyway"]);
}

#[test]
fn a_failed_reconciliation_does_not_count_and_the_next_run_tries_again() {
    let mut env = hooked(Catalog::Demo);
    let mut fail = rule(FaultKind::Status);
    fail.status = Some(400);
    fail.path_prefix = Some("/v1/prices".into());
    fail.method = Some("GET".into());
    env.fake.set_faults(FaultConfig {
        latency_ms: 0,
        rules: vec![fail],
    });
    let err = env.error("call stripe_fdw.run_scheduled('1 day')");
    assert!(
        err.message.contains("prices") || err.code == "HV000",
        "{err:?}"
    );
    let done = env.strings("select coalesce(reconciled_at::text, 'never') from stripe_fdw.schedule_state union all select 'never' limit 1");
    assert_eq!(done, ["never"], "a failed reconciliation is not recorded");

    env.fake.set_faults(FaultConfig::default());
    env.take_log();
    env.exec("call stripe_fdw.run_scheduled('1 day')");
    let log = env.take_log();
    assert!(
        log.iter().any(|e| e.path == "/v1/prices"),
        "the next run reconciles again: {:?}",
        paths(&log)
    );
    let done: i64 = env
        .query("select count(*) from stripe_fdw.schedule_state where reconciled_at is not null")[0]
        .get(0);
    assert_eq!(done, 1);
}

#[test]
fn a_lookup_key_moved_between_prices_applies_in_one_sync_and_by_webhook_in_any_order() {
    let mut env = hooked(Catalog::Demo);
    env.exec(
        "create table public.price_keys (id text primary key, lookup_key text unique, active bool);
         select stripe_fdw.create_sync('public.price_keys', '{s}.prices');",
    );
    let hobby = product_id(&mut env, "Hobby");
    let form = format!("product={hobby}&currency=usd&unit_amount=700&lookup_key=standard");
    let a = create(&env, "/prices", &form);
    env.exec("call stripe_fdw.sync()");
    let b = create(
        &env,
        "/prices",
        &format!("product={hobby}&currency=usd&unit_amount=800&lookup_key=standard&transfer_lookup_key=true"),
    );
    env.exec("call stripe_fdw.sync()");
    let holder = "select id from public.price_keys where lookup_key = 'standard'";
    assert_eq!(env.strings(holder), std::slice::from_ref(&b));

    // Back to a, delivered newest first: a's event arrives before b's.
    stripe_ok(
        &env,
        "POST",
        &format!("/prices/{a}"),
        "lookup_key=standard&transfer_lookup_key=true",
    );
    let to_a = event_for(&env, "price.updated", &a);
    let from_b = event_for(&env, "price.updated", &b);
    assert_eq!(deliver(&mut env, &to_a)["action"], "applied");
    assert_eq!(env.strings(holder), std::slice::from_ref(&a));
    assert_eq!(deliver(&mut env, &from_b)["action"], "applied");
    assert_eq!(env.strings(holder), [a]);
    assert!(drift(&mut env, "prices").is_empty());
    let keys: i64 =
        env.query("select count(*) from stripe_fdw.sync_drift('public.price_keys')")[0].get(0);
    assert_eq!(keys, 0);
}

#[test]
fn row_level_security_on_a_target_is_an_error_that_names_it_never_a_silent_zero() {
    let mut env = hooked(Catalog::Demo);
    let role = role(&mut env, "rls");
    // A role that syncs two tables it owns: public.plain, and public.shown, whose policies
    // (forced on its owner too) let it see every row but change only some: the engine could
    // not tell what they hide, so it refuses the table.
    env.exec(&format!(
        "delete from stripe_fdw.sync_registry;
         create table public.plain (id text primary key, name text);
         create table public.shown (id text primary key, name text);
         alter table public.plain owner to {role};
         alter table public.shown owner to {role};
         alter table public.shown enable row level security;
         alter table public.shown force row level security;
         create policy see on public.shown for select using (true);
         create policy add on public.shown for insert with check (true);
         create policy change on public.shown for update using (name <> 'Hobby');
         set role {role};
         select stripe_fdw.create_sync('public.plain', '{{s}}.products');
         select stripe_fdw.create_sync('public.shown', '{{s}}.products');
         reset role;"
    ));
    let hobby = product_id(&mut env, "Hobby");
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "name=Hidden+change",
    );

    // Its own statement: a CALL in a multi-statement string cannot COMMIT its record.
    env.exec(&format!("set role {role}"));
    let err = env.error("call stripe_fdw.sync()");
    env.exec("reset role");
    assert_eq!(err.code, "42501", "{err:?}");
    assert!(
        err.message.contains("public.shown") && err.message.contains("row-level security"),
        "{err:?}"
    );
    // sync_status shows a role its own registrations.
    env.exec(&format!("set role {role}"));
    let recorded = env.strings(
        "select coalesce(last_error, '') from stripe_fdw.sync_status where target = 'public.shown'::regclass",
    );
    env.exec("reset role");
    assert!(recorded[0].contains("row-level security"), "{recorded:?}");
    let plain = env.strings(&format!(
        "select name from public.plain where id = '{hobby}'"
    ));
    assert_eq!(plain, ["Hidden change"], "the other target was applied");

    // A webhook: an error, and the event is not recorded, so a retry or catch_up applies it later.
    let evt = event_for(&env, "product.updated", &hobby);
    let mut db = session(&env);
    db.batch_execute(&format!("set role {role}"))
        .expect("set role");
    let r = deliver_in(&mut db, &env, &evt);
    assert!(
        r.as_ref().is_err_and(|e| e.contains("row-level security")),
        "{r:?}"
    );
    assert_eq!(recorded_event(&mut env, &evt), 0);
}

fn recorded_event(env: &mut Env, id: &str) -> i64 {
    env.query(&format!(
        "select count(*) from stripe_fdw.webhook_events where id = '{id}'"
    ))[0]
        .get(0)
}

#[test]
fn a_registration_the_caller_cannot_reach_is_skipped_with_a_warning_not_an_error_for_all() {
    let mut env = hooked(Catalog::Demo);
    let role = role(&mut env, "app");
    // The role registers two tables of its own, one in a schema it then loses USAGE on.
    env.exec(&format!(
        "create schema private;
         grant usage on schema private to {role};
         create table public.app_products (id text primary key, name text);
         create table private.products_copy (id text primary key, name text);
         alter table public.app_products owner to {role};
         alter table private.products_copy owner to {role};
         set role {role};
         select stripe_fdw.create_sync('public.app_products', '{{s}}.products');
         select stripe_fdw.create_sync('private.products_copy', '{{s}}.products');
         reset role;
         revoke usage on schema private from {role};"
    ));
    let hobby = product_id(&mut env, "Hobby");
    env.notices.lock().expect("notices").clear();
    env.exec(&format!(
        "set role {role}; call stripe_fdw.sync(); reset role"
    ));
    let notices = env.notices.lock().expect("notices").clone();
    assert!(
        notices
            .iter()
            .any(|n| n.starts_with("WARNING") && n.contains("private.products_copy")),
        "{notices:?}"
    );
    let app_name = format!("select name from public.app_products where id = '{hobby}'");
    assert_eq!(env.strings(&app_name), ["Hobby"]);
    env.exec(&format!("set role {role}"));
    let why = env.strings(
        "select coalesce(skipped, '') from stripe_fdw.sync_status where registered = 'private.products_copy'",
    );
    env.exec("reset role");
    assert!(why[0].contains("USAGE on schema private"), "{why:?}");

    // A webhook as that role: applied to what it can reach, and recorded.
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "name=By+webhook",
    );
    let evt = event_for(&env, "product.updated", &hobby);
    let mut db = session(&env);
    db.batch_execute(&format!("set role {role}"))
        .expect("set role");
    let r = deliver_in(&mut db, &env, &evt).expect("applied");
    assert_eq!(r["action"], "applied");
    assert_eq!(env.strings(&app_name), ["By webhook"]);
    env.exec(&format!("set role {role}"));
    let drift: i64 =
        env.query("select count(*) from stripe_fdw.sync_drift('public.app_products')")[0].get(0);
    env.exec("reset role");
    assert_eq!(drift, 0);
}

#[test]
fn the_apps_triggers_see_the_callers_search_path() {
    let mut env = hooked(Catalog::Demo);
    env.exec(
        "create table public.write_log (id text, op text, at timestamptz default now());
         create function public.log_write() returns trigger language plpgsql as $f$
         begin
           insert into write_log (id, op) values (new.id, tg_op);  -- unqualified, as apps write it
           return new;
         end $f$;
         create trigger log_write before insert or update on public.products
           for each row execute function public.log_write();",
    );
    let hobby = product_id(&mut env, "Hobby");
    stripe_ok(&env, "POST", &format!("/products/{hobby}"), "name=Logged");
    env.exec("set search_path = \"$user\", public; call stripe_fdw.sync()");
    assert_eq!(
        env.strings("select id from public.write_log"),
        std::slice::from_ref(&hobby)
    );
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "name=Logged+again",
    );
    let evt = event_for(&env, "product.updated", &hobby);
    assert_eq!(deliver(&mut env, &evt)["action"], "applied");
    let n: i64 = env.query("select count(*) from public.write_log")[0].get(0);
    assert_eq!(n, 2);
    assert_eq!(
        env.strings("show search_path"),
        ["\"$user\", public"],
        "the caller's search_path is given back"
    );
}

#[test]
fn the_engines_own_statements_ignore_a_hostile_search_path_while_they_write() {
    let mut env = hooked(Catalog::Demo);
    // Look-alikes of what the engine's write statements use, first in the caller's path: each
    // writes to a marker when it runs.
    env.exec(
        "create table public.marker (what text);
         create schema evil;
         create function evil.eq(text, text) returns bool language sql as
           $f$ insert into public.marker values ('='); select $1 operator(pg_catalog.=) $2 $f$;
         create operator evil.= (leftarg = text, rightarg = text, function = evil.eq);
         create function evil.eqb(bool, bool) returns bool language sql as
           $f$ insert into public.marker values ('bool ='); select $1 operator(pg_catalog.=) $2 $f$;
         create operator evil.= (leftarg = bool, rightarg = bool, function = evil.eqb);
         create function evil.arrow(jsonb, text) returns text language sql as
           $f$ insert into public.marker values ('->>'); select $1 operator(pg_catalog.->>) $2 $f$;
         create operator evil.->> (leftarg = jsonb, rightarg = text, function = evil.arrow);",
    );
    let hobby = product_id(&mut env, "Hobby");
    let doomed = create(&env, "/products", "name=Doomed");
    env.exec("call stripe_fdw.sync()");
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "name=Hostile+path",
    );
    let (status, _) = env.stripe("DELETE", &format!("/products/{doomed}"), "");
    assert_eq!(status, 200);
    env.exec("set search_path = evil, pg_catalog, public; call stripe_fdw.sync()");
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "name=Hostile+webhook",
    );
    let evt = event_for(&env, "product.updated", &hobby);
    assert_eq!(deliver(&mut env, &evt)["action"], "applied");
    env.exec("call stripe_fdw.catch_up()");
    env.exec("select stripe_fdw.create_cache('{s}', '{s}_cache'); call stripe_fdw.refresh_cache()");
    env.exec("call stripe_fdw.run_scheduled()");
    env.exec("reset search_path");
    assert_eq!(
        env.strings("select what from public.marker"),
        Vec::<String>::new(),
        "none of the look-alikes ran"
    );
    assert_eq!(
        name_of(&mut env, &hobby).as_deref(),
        Some("Hostile webhook")
    );
    assert_eq!(name_of(&mut env, &doomed), None);
}

#[test]
fn a_deferred_foreign_key_of_the_app_fails_its_own_group_not_the_commit() {
    let mut env = hooked(Catalog::Demo);
    let doomed = create(&env, "/products", "name=Ordered");
    env.exec(
        "create table public.products_copy (id text primary key, name text);
         select stripe_fdw.create_sync('public.products_copy', '{s}.products');
         call stripe_fdw.sync();",
    );
    env.exec(&format!(
        "create table public.orders (id int primary key,
             product_id text references public.products deferrable initially deferred);
         insert into public.orders values (1, '{doomed}');"
    ));
    let hobby = product_id(&mut env, "Hobby");
    stripe_ok(&env, "POST", &format!("/products/{hobby}"), "name=Copied");
    let (status, _) = env.stripe("DELETE", &format!("/products/{doomed}"), "");
    assert_eq!(status, 200);

    let err = env.error("call stripe_fdw.sync()");
    assert_eq!(err.code, "23503", "{err:?}");
    assert!(
        err.message.contains("stripe_fdw: sync failed"),
        "the engine's error: {err:?}"
    );
    let copied = env.strings(&format!(
        "select name from public.products_copy where id = '{hobby}'"
    ));
    assert_eq!(copied, ["Copied"], "the unrelated target was applied");
    let recorded = env.strings(
        "select coalesce(last_error, '') from stripe_fdw.sync_status where target = 'public.products'::regclass",
    );
    assert!(recorded[0].contains("orders"), "{recorded:?}");
}

#[test]
fn a_sync_inside_the_apps_transaction_leaves_its_deferred_constraints_alone() {
    let mut env = hooked(Catalog::Demo);
    env.exec(
        "create table public.items (product text references public.products deferrable initially deferred);",
    );
    // The app's pending row references a product Stripe has, not synced yet: fine by COMMIT.
    let fresh = create(&env, "/products", "name=Later");
    env.exec(&format!(
        "begin;
         insert into public.items values ('{fresh}');
         call stripe_fdw.sync('public.products');
         commit;"
    ));
    let n: i64 = env.query(&format!(
        "select count(*) from public.products where id = '{fresh}'"
    ))[0]
        .get(0);
    assert_eq!(n, 1);
}
