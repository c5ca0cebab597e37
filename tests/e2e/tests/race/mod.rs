//! Shared by the interleaving tests: more sessions on a test's database, a call run in another
//! session while the test holds its read at the fake, and signed deliveries from any session.
#![allow(dead_code)]

use crate::hooks::SECRET;
use e2e::*;
use postgres::Client;
use serde_json::Value;
use std::thread::JoinHandle;
use std::time::Duration;

/// Another session on the test's database.
pub fn session(env: &Env) -> Client {
    connect_db(env.own_database.as_deref()).0
}

/// Run `sql` (a batch) in a session of its own, in a thread; its error as text.
pub fn spawn_sql(env: &Env, sql: &str) -> JoinHandle<Result<(), String>> {
    let mut db = session(env);
    let sql = env.sql(sql);
    std::thread::spawn(move || db.batch_execute(&sql).map_err(|e| describe(&e)))
}

/// Hold the next GET whose path starts with `prefix` after Stripe computed its answer.
pub fn hold_next(env: &Env, prefix: &str) {
    env.fake.hold(HoldRule {
        path_prefix: Some(prefix.to_string()),
        method: Some("GET".to_string()),
        count: Some(1),
        ..Default::default()
    });
}

/// Wait until `n` requests are parked at the fake (a reader is between its read and its write).
pub fn wait_parked(env: &Env, n: usize) {
    assert!(
        env.fake.wait_held(n, Duration::from_secs(20)),
        "no request was parked at the fake"
    );
}

/// Release every parked request and wait for the call in the other session.
pub fn finish(env: &Env, call: JoinHandle<Result<(), String>>) {
    env.fake.release(None);
    env.fake.clear_holds();
    match call.join() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("the concurrent call failed: {e}"),
        Err(_) => panic!("the concurrent call's thread panicked"),
    }
}

/// Deliver Stripe's event `id`, signed now, to handle_webhook() in session `db`.
pub fn deliver_in(db: &mut Client, env: &Env, id: &str) -> Result<Value, String> {
    let (payload, header) = env
        .fake
        .webhook(id, SECRET, None)
        .expect("the event exists");
    db.query_one(
        "select stripe_fdw.handle_webhook($1, $2, $3)",
        &[&payload, &header, &env.server],
    )
    .map(|r| r.get::<_, Value>(0))
    .map_err(|e| describe(&e))
}

/// Deliver `id` from another session, in a thread.
pub fn spawn_delivery(env: &Env, id: &str) -> JoinHandle<Result<(), String>> {
    let mut db = session(env);
    let (payload, header) = env
        .fake
        .webhook(id, SECRET, None)
        .expect("the event exists");
    let server = env.server.clone();
    std::thread::spawn(move || {
        db.query_one(
            "select stripe_fdw.handle_webhook($1, $2, $3)",
            &[&payload, &header, &server],
        )
        .map(|_| ())
        .map_err(|e| describe(&e))
    })
}

/// The synced name of a product, None when the row is not there.
pub fn name_of(env: &mut Env, id: &str) -> Option<String> {
    env.query(&format!(
        "select name from public.products where id = '{id}'"
    ))
    .first()
    .map(|r| r.get::<_, String>(0))
}

/// How often writers met a conflict and read ids again (stripe_fdw.engine_counters).
pub fn counter(env: &mut Env, name: &str) -> i64 {
    env.query(&format!(
        "select coalesce(sum(n), 0)::bigint from stripe_fdw.engine_counters where name = '{name}'"
    ))[0]
        .get(0)
}

/// A role of this test (roles are cluster-wide), with what a role that syncs needs.
pub fn role(env: &mut Env, stem: &str) -> String {
    let r = format!("{stem}_{}", env.s);
    let key = env.key.clone();
    env.exec(&format!(
        "create role {r};
         select stripe_fdw.grant_admin('{r}');
         grant usage on schema {{s}} to {r};
         grant select on all tables in schema {{s}} to {r};
         grant create, usage on schema public to {r};
         grant usage on foreign server {{server}} to {r};
         create user mapping for {r} server {{server}} options (api_key '{key}', webhook_secret '{SECRET}');"
    ));
    r
}
