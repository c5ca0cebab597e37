//! stripe_fdw.handle_webhook(): a change in Stripe and its signed webhook reach the synced table in
//! one call; replays do nothing; out-of-order deliveries leave the newest state; bad, missing and
//! expired signatures are refused (28000) with nothing written; other event types are ignored.
//!
//! Each test has a database of its own (the starter's tables, synced).

mod hooks;
mod starter;

use e2e::*;
use hooks::*;
use serde_json::json;
use starter::*;

#[test]
fn a_change_and_its_webhook_reach_the_synced_table_in_one_call() {
    let mut env = hooked(Catalog::Demo);
    let hobby = product_id(&mut env, "Hobby");
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "name=Hobby+Plus",
    );
    let evt = event_for(&env, "product.updated", &hobby);
    env.take_log();

    let r = deliver(&mut env, &evt);
    assert_eq!(
        r,
        json!({"event": evt, "type": "product.updated", "action": "applied", "rows": 1})
    );
    assert_eq!(
        synced_product(&mut env, &hobby, "name").as_deref(),
        Some("Hobby Plus")
    );
    let log = env.take_log();
    assert_eq!(
        paths(&log),
        [format!("GET /v1/products/{hobby}")],
        "one retrieve"
    );

    // A price: one retrieve.
    let price = prices_of(&mut env, &hobby).remove(0);
    stripe_ok(&env, "POST", &format!("/prices/{price}"), "active=false");
    let evt = event_for(&env, "price.updated", &price);
    env.take_log();
    let r = deliver(&mut env, &evt);
    assert_eq!(r["action"], "applied");
    assert_eq!(r["rows"], 1);
    let log = env.take_log();
    assert_eq!(paths(&log), [format!("GET /v1/prices/{price}")]);
    let active: bool = env.query(&format!(
        "select active from public.prices where id = '{price}'"
    ))[0]
        .get(0);
    assert!(!active);
    assert_in_sync(&mut env);

    let rows = env.query(
        "select type, action, via, rows from stripe_fdw.webhook_events order by received_at, type desc",
    );
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].get::<_, String>(0), "price.updated");
    assert_eq!(rows[1].get::<_, String>(1), "applied");
    assert_eq!(rows[1].get::<_, String>(2), "webhook");
}

#[test]
fn a_new_price_before_its_product_brings_the_product_too() {
    let mut env = hooked(Catalog::Demo);
    let product = create(&env, "/products", "name=Team");
    let price = create(
        &env,
        "/prices",
        &format!("product={product}&currency=usd&unit_amount=4900&recurring[interval]=month"),
    );
    // Stripe delivers in any order: the price first.
    let r = {
        let evt = event_for(&env, "price.created", &price);
        deliver(&mut env, &evt)
    };
    assert_eq!(r["action"], "applied");
    assert_eq!(
        synced_product(&mut env, &product, "name").as_deref(),
        Some("Team")
    );
    let n: i64 = env.query(&format!(
        "select count(*) from public.prices where id = '{price}' and product_id = '{product}'"
    ))[0]
        .get(0);
    assert_eq!(n, 1);
    // Then the product's own event: nothing left to change.
    let r = {
        let evt = event_for(&env, "product.created", &product);
        deliver(&mut env, &evt)
    };
    assert_eq!(
        (r["action"].as_str(), r["rows"].as_i64()),
        (Some("applied"), Some(0))
    );
    assert_in_sync(&mut env);
}

#[test]
fn replaying_an_event_does_nothing() {
    let mut env = hooked(Catalog::Demo);
    let hobby = product_id(&mut env, "Hobby");
    stripe_ok(&env, "POST", &format!("/products/{hobby}"), "name=Once");
    let evt = event_for(&env, "product.updated", &hobby);
    let (payload, header) = env.fake.webhook(&evt, SECRET, None).expect("event");
    let first = handle(&mut env, &payload, Some(&header), None).expect("accepted");
    assert_eq!(first["action"], "applied");
    // Changed again locally: a replay must not touch it, nor ask Stripe.
    env.exec(&format!(
        "update public.products set name = 'Local' where id = '{hobby}'"
    ));
    env.take_log();
    for _ in 0..2 {
        let again = handle(&mut env, &payload, Some(&header), None).expect("accepted");
        assert_eq!(
            again,
            json!({"event": evt, "type": "product.updated", "action": "duplicate", "rows": 0})
        );
    }
    assert!(env.take_log().is_empty(), "a duplicate asks Stripe nothing");
    assert_eq!(
        synced_product(&mut env, &hobby, "name").as_deref(),
        Some("Local")
    );
    assert_eq!(recorded(&mut env), 1);

    // The record is bounded: an event created more than 30 days ago is forgotten.
    env.exec(
        "insert into stripe_fdw.webhook_events (id, type, created, action, via)
         values ('evt_old', 'product.updated', now() - interval '31 days', 'applied', 'webhook')",
    );
    stripe_ok(&env, "POST", &format!("/products/{hobby}"), "name=Twice");
    let evt2 = event_for(&env, "product.updated", &hobby);
    deliver(&mut env, &evt2);
    let ids = env.strings("select id from stripe_fdw.webhook_events order by seq");
    assert_eq!(ids, [evt.clone(), evt2]);
}

#[test]
fn webhooks_out_of_order_leave_the_newest_state() {
    let mut env = hooked(Catalog::Demo);
    let hobby = product_id(&mut env, "Hobby");
    stripe_ok(&env, "POST", &format!("/products/{hobby}"), "name=First");
    let first = event_for(&env, "product.updated", &hobby);
    stripe_ok(&env, "POST", &format!("/products/{hobby}"), "name=Second");
    let second = event_for(&env, "product.updated", &hobby);
    assert_ne!(first, second);
    assert_eq!(deliver(&mut env, &second)["action"], "applied");
    assert_eq!(
        synced_product(&mut env, &hobby, "name").as_deref(),
        Some("Second")
    );
    // The older event arrives last: its copy says "First", Stripe says "Second".
    assert_eq!(deliver(&mut env, &first)["action"], "applied");
    assert_eq!(
        synced_product(&mut env, &hobby, "name").as_deref(),
        Some("Second")
    );
    assert_in_sync(&mut env);
}

#[test]
fn bad_missing_and_expired_signatures_are_refused_with_nothing_written() {
    let mut env = hooked(Catalog::Demo);
    let hobby = product_id(&mut env, "Hobby");
    stripe_ok(&env, "POST", &format!("/products/{hobby}"), "name=Forged");
    let evt = event_for(&env, "product.updated", &hobby);
    let (payload, good) = env.fake.webhook(&evt, SECRET, None).expect("event");
    let (_, wrong) = env
        .fake
        .webhook(&evt, "whsec_someone_else", None)
        .expect("event");
    let old = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
        - 600;
    let (_, expired) = env.fake.webhook(&evt, SECRET, Some(old)).expect("event");
    let tampered = payload.replace("Forged", "Free");
    let expected_sig = good.split("v1=").nth(1).expect("v1").to_string();
    env.take_log();

    let cases: [(&str, Option<&str>, &str); 6] = [
        (&payload, None, "missing"),
        (&payload, Some(""), "missing"),
        (&payload, Some("sha256=abc"), "malformed"),
        (&payload, Some(&wrong), "no signature matches"),
        (&tampered, Some(&good), "no signature matches"),
        (&payload, Some(&expired), "old"),
    ];
    for (body, header, says) in cases {
        let e = handle(&mut env, body, header, None).expect_err("refused");
        assert_eq!(e.code, "28000", "{header:?}: {e:?}");
        assert!(e.message.contains(says), "{header:?}: {e:?}");
        let text = e.all_text();
        assert!(
            !text.contains(SECRET) && !text.contains(&expected_sig),
            "{e:?}"
        );
    }
    assert_eq!(recorded(&mut env), 0, "nothing recorded");
    assert_ne!(
        synced_product(&mut env, &hobby, "name").as_deref(),
        Some("Forged")
    );
    assert!(env.take_log().is_empty(), "nothing asked of Stripe");

    // A longer tolerance accepts the old delivery; a zero one is refused when set.
    let e = env.error("alter server {server} options (add webhook_tolerance '0')");
    assert_eq!(e.code, "22023", "{e:?}");
    env.exec("alter server {server} options (add webhook_tolerance '15min')");
    let r = handle(&mut env, &payload, Some(&expired), None).expect("accepted");
    assert_eq!(r["action"], "applied");
    assert_eq!(
        synced_product(&mut env, &hobby, "name").as_deref(),
        Some("Forged")
    );
}

#[test]
fn other_event_types_are_recorded_as_ignored() {
    let mut env = hooked(Catalog::Demo);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let payload = json!({
        "id": "evt_1CustomerCreated000000000", "object": "event", "type": "customer.created",
        "created": now, "api_version": "2026-10-28.endive", "livemode": false,
        "data": {"object": {"id": "cus_123", "object": "customer"}}
    })
    .to_string();
    let header = stripe_fdw_core::webhook::sign_header(payload.as_bytes(), SECRET, now);
    env.take_log();
    let r = handle(&mut env, &payload, Some(&header), None).expect("accepted");
    assert_eq!(
        r,
        json!({"event": "evt_1CustomerCreated000000000", "type": "customer.created", "action": "ignored", "rows": 0})
    );
    assert!(env.take_log().is_empty());
    let action: String = env.query("select action from stripe_fdw.webhook_events")[0].get(0);
    assert_eq!(action, "ignored");
}

#[test]
fn the_server_is_the_named_one_or_the_only_one_and_the_secret_is_required() {
    let mut env = hooked(Catalog::Demo);
    let e =
        handle(&mut env, "{}", Some("t=1,v1=00"), Some("no_such_server")).expect_err("no server");
    assert_eq!(e.code, "42704", "{e:?}");
    env.exec("alter user mapping for current_user server {server} options (drop webhook_secret)");
    let hobby = product_id(&mut env, "Hobby");
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "name=Secretless",
    );
    let evt = event_for(&env, "product.updated", &hobby);
    let (payload, header) = env.fake.webhook(&evt, SECRET, None).expect("event");
    let e = handle(&mut env, &payload, Some(&header), None).expect_err("no secret");
    assert!(e.message.contains("no webhook secret"), "{e:?}");
    // On the server instead of the user mapping.
    env.exec(&format!(
        "alter server {{server}} options (add webhook_secret '{SECRET}')"
    ));
    let r = handle(&mut env, &payload, Some(&header), None).expect("accepted");
    assert_eq!(r["action"], "applied");
}

#[test]
fn the_secret_can_come_from_supabase_vault_by_name_or_id() {
    let mut env = hooked(Catalog::Demo);
    // Supabase Vault's interface as stripe_fdw reads it, in this test's own database.
    env.exec(&format!(
        "create schema vault;
         create table vault.decrypted_secrets (id uuid, key_id uuid, name text, decrypted_secret text);
         insert into vault.decrypted_secrets values
           ('5a2f3c1e-0000-4000-8000-000000000001', null, 'stripe_webhook', '{SECRET}');
         alter user mapping for current_user server {{server}}
           options (drop webhook_secret, add webhook_secret_name 'stripe_webhook');"
    ));
    let hobby = product_id(&mut env, "Hobby");
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "name=From+Vault",
    );
    let evt = event_for(&env, "product.updated", &hobby);
    assert_eq!(deliver(&mut env, &evt)["action"], "applied");
    env.exec(
        "alter user mapping for current_user server {server}
           options (drop webhook_secret_name, add webhook_secret_id '5a2f3c1e-0000-4000-8000-000000000001')",
    );
    stripe_ok(&env, "POST", &format!("/products/{hobby}"), "name=By+Id");
    let evt = event_for(&env, "product.updated", &hobby);
    assert_eq!(deliver(&mut env, &evt)["action"], "applied");
    assert_eq!(
        synced_product(&mut env, &hobby, "name").as_deref(),
        Some("By Id")
    );
    // A name Vault does not have: an error that names the option, never a secret.
    env.exec(
        "alter user mapping for current_user server {server}
           options (drop webhook_secret_id, add webhook_secret_name 'missing')",
    );
    stripe_ok(&env, "POST", &format!("/products/{hobby}"), "name=Nope");
    let evt = event_for(&env, "product.updated", &hobby);
    let (payload, header) = env.fake.webhook(&evt, SECRET, None).expect("event");
    let e = handle(&mut env, &payload, Some(&header), None).expect_err("no such secret");
    assert!(e.message.contains("webhook_secret_name"), "{e:?}");
    assert!(!e.all_text().contains(SECRET), "{e:?}");
}

#[test]
fn a_deleted_product_is_deleted_from_the_synced_table() {
    let mut env = hooked(Catalog::Demo);
    let product = create(&env, "/products", "name=Short+Lived");
    let evt = event_for(&env, "product.created", &product);
    assert_eq!(deliver(&mut env, &evt)["rows"], 1);
    assert_eq!(
        synced_product(&mut env, &product, "name").as_deref(),
        Some("Short Lived")
    );
    stripe_ok(&env, "DELETE", &format!("/products/{product}"), "");
    let evt = event_for(&env, "product.deleted", &product);
    let r = deliver(&mut env, &evt);
    assert_eq!(
        (r["action"].as_str(), r["rows"].as_i64()),
        (Some("applied"), Some(1))
    );
    let n: i64 = env.query(&format!(
        "select count(*) from public.products where id = '{product}'"
    ))[0]
        .get(0);
    assert_eq!(n, 0);
}

#[test]
fn an_event_of_the_other_mode_is_refused_with_nothing_written() {
    let mut env = hooked(Catalog::Demo);
    let hobby = product_id(&mut env, "Hobby");
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "name=Other+mode",
    );
    let evt = event_for(&env, "product.updated", &hobby);
    let key = env.key.clone();
    // The fake's events are test mode; a database keyed for live mode must not apply them.
    env.exec("alter user mapping for current_user server {server} options (set api_key 'sk_live_e2e_0000')");
    env.take_log();
    let (payload, header) = env.fake.webhook(&evt, SECRET, None).expect("event");
    let e = handle(&mut env, &payload, Some(&header), None).expect_err("refused");
    assert_eq!(e.code, "22023", "{e:?}");
    assert!(
        e.message.contains("test-mode event") && e.message.contains("live-mode key"),
        "{e:?}"
    );
    assert!(!e.all_text().contains("sk_live_e2e_0000"), "{e:?}");
    assert!(env.take_log().is_empty(), "nothing asked of Stripe");
    assert_eq!(recorded(&mut env), 0);
    env.exec(&format!(
        "alter user mapping for current_user server {{server}} options (set api_key '{key}')"
    ));
    assert_eq!(deliver(&mut env, &evt)["action"], "applied");
}
