//! Shared by webhooks.rs and catchup.rs: the starter's synced tables with a webhook secret, and
//! delivering a signed event to stripe_fdw.handle_webhook() as an app's route would.
#![allow(dead_code)]

use crate::starter::*;
use e2e::*;
use serde_json::Value;

/// The endpoint's signing secret the tests give the user mapping.
pub const SECRET: &str = "whsec_e2e_0123456789abcdef";

/// The starter's tables, synced once, with the endpoint secret on the user mapping.
pub fn hooked(catalog: Catalog) -> Env {
    let mut env = starter(catalog);
    env.exec(&format!(
        "alter user mapping for current_user server {{server}} options (add webhook_secret '{SECRET}');
         call stripe_fdw.sync();"
    ));
    env
}

/// `select stripe_fdw.handle_webhook(payload, header, server)`: the JSON it returns, or the error.
pub fn handle(
    env: &mut Env,
    payload: &str,
    header: Option<&str>,
    server: Option<&str>,
) -> Result<Value, DbErr> {
    env.db
        .query_one(
            "select stripe_fdw.handle_webhook($1, $2, $3)",
            &[&payload, &header, &server],
        )
        .map(|r| r.get::<_, Value>(0))
        .map_err(|e| DbErr::from(&e))
}

/// Deliver Stripe's event `id` signed now with SECRET; the handler's answer.
pub fn deliver(env: &mut Env, id: &str) -> Value {
    let (payload, header) = env
        .fake
        .webhook(id, SECRET, None)
        .expect("the event exists");
    let server = env.server.clone();
    handle(env, &payload, Some(&header), Some(&server))
        .unwrap_or_else(|e| panic!("handle_webhook({id}): {e:?}"))
}

/// The id of the newest event Stripe has of `kind` for object `object_id`.
pub fn event_for(env: &Env, kind: &str, object_id: &str) -> String {
    env.fake
        .events()
        .iter()
        .find(|e| e["type"] == kind && e["data"]["object"]["id"] == object_id)
        .and_then(|e| e["id"].as_str())
        .unwrap_or_else(|| panic!("no {kind} event for {object_id}"))
        .to_string()
}

/// The ids of the prices of a product, as Stripe has them.
pub fn prices_of(env: &mut Env, product: &str) -> Vec<String> {
    env.strings(&format!(
        "select id from {{s}}.prices where product = '{product}' order by id"
    ))
}

/// How many rows the dedupe table holds.
pub fn recorded(env: &mut Env) -> i64 {
    env.query("select count(*) from stripe_fdw.webhook_events")[0].get(0)
}

/// One value of the synced products table.
pub fn synced_product(env: &mut Env, id: &str, column: &str) -> Option<String> {
    env.query(&format!(
        "select {column}::text from public.products where id = '{id}'"
    ))
    .first()
    .and_then(|r| r.get::<_, Option<String>>(0))
}

/// The requests in a log as "METHOD path", in order.
pub fn paths(log: &[LogEntry]) -> Vec<String> {
    log.iter()
        .map(|e| format!("{} {}", e.method, e.path))
        .collect()
}

/// Assert the synced tables hold what Stripe holds.
pub fn assert_in_sync(env: &mut Env) {
    let [live_products, synced_products, live_prices, synced_prices] = live_and_synced(env);
    assert_eq!(
        live_products, synced_products,
        "products as Stripe has them"
    );
    assert_eq!(live_prices, synced_prices, "prices as Stripe has them");
}
