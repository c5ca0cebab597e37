//! One webhook endpoint per environment: create_webhook_endpoint() registers it with (the fake)
//! Stripe, subscribed to what the syncs need, and keeps the secret it issued (server option or
//! Vault) without ever showing it; webhook_endpoints() lists endpoints against those needs; only
//! the server's owner creates; another account's events are refused; a rotation verifies both.
//!
//! Each test has a database of its own (the starter's tables, registered and synced).

mod hooks;
mod starter;

use e2e::*;
use hooks::*;
use serde_json::{json, Value};
use starter::*;

const URL: &str = "https://example.com/api/webhooks";

const NEEDED: [&str; 6] = [
    "price.created",
    "price.deleted",
    "price.updated",
    "product.created",
    "product.deleted",
    "product.updated",
];

/// The starter's tables, registered and synced, the server's key on the user mapping and no
/// webhook secret anywhere yet.
fn synced() -> Env {
    let mut env = starter(Catalog::Demo);
    env.exec("call stripe_fdw.sync()");
    env
}

fn create(env: &mut Env, server: Option<&str>) -> Result<Value, DbErr> {
    env.db
        .query_one(
            "select stripe_fdw.create_webhook_endpoint($1, $2)",
            &[&URL, &server],
        )
        .map(|r| r.get::<_, Value>(0))
        .map_err(|e| DbErr::from(&e))
}

/// A change of the Hobby product in Stripe (renamed `name`) and its event's id.
fn a_change(env: &mut Env, name: &str) -> String {
    let hobby = hobby(env);
    stripe_ok(
        env,
        "POST",
        &format!("/products/{hobby}"),
        &format!("name={name}"),
    );
    event_for(env, "product.updated", &hobby)
}

/// The id of the product the starter's catalog names Hobby (whatever it is called now).
fn hobby(env: &mut Env) -> String {
    env.strings("select id from {s}.products where description = 'For side projects'")
        .remove(0)
}

/// The server's options, as `name=value`.
fn server_options(env: &mut Env) -> Vec<String> {
    env.strings("select unnest(srvoptions) from pg_foreign_server where srvname = '{server}'")
}

/// An option of the caller's user mapping (hidden from other roles, unlike the server's).
fn mapping_option(env: &mut Env, name: &str) -> Option<String> {
    env.strings(
        "select unnest(umoptions) from pg_user_mappings where srvname = '{server}' and usename = current_user",
    )
    .into_iter()
    .find_map(|o| o.strip_prefix(&format!("{name}=")).map(str::to_string))
}

fn option(env: &mut Env, name: &str) -> Option<String> {
    server_options(env)
        .into_iter()
        .find_map(|o| o.strip_prefix(&format!("{name}=")).map(str::to_string))
}

/// Everything the database said that a user could see: notices, and the server log.
fn said(env: &Env) -> String {
    let notices = env.notices.lock().map(|n| n.join("\n")).unwrap_or_default();
    let log = std::env::var("STRIPE_FDW_PG_LOG")
        .ok()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    format!("{notices}\n{log}")
}

#[test]
fn creates_the_endpoint_the_syncs_need_and_keeps_its_secret_unshown() {
    let mut env = synced();
    env.take_log();
    let r = create(&mut env, None).expect("created");
    let id = r["id"].as_str().expect("id").to_string();
    let secret = env
        .fake
        .endpoint_secret(&id)
        .expect("the fake issued a secret");
    assert!(!r.to_string().contains(&secret), "{r}");
    assert!(r.get("secret").is_none());
    assert_eq!(r["url"], URL);
    assert_eq!(r["status"], "enabled");
    assert_eq!(r["enabled_events"], json!(NEEDED));
    let db: String = env.query("select current_database()::text")[0].get(0);
    assert_eq!(r["metadata"]["database"], db.as_str());
    assert_eq!(r["metadata"]["server"], env.server.as_str());
    assert!(r["metadata"]["stripe_fdw"].is_string());
    assert_eq!(
        r["secret_stored_in"],
        "your user mapping's option webhook_secret"
    );
    assert_eq!(r["previous_secret_kept"], false);
    assert_eq!(r["account"], ACCOUNT_ID);

    // What was asked of Stripe: the account, then one create (form-encoded, idempotent).
    let log = env.take_log();
    assert_eq!(
        paths(&log),
        ["GET /v1/account", "POST /v1/webhook_endpoints"]
    );
    let form = log[1].form.clone().unwrap_or_default();
    let events: Vec<&str> = form
        .iter()
        .filter(|(k, _)| k == "enabled_events[]")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(events, NEEDED);
    assert!(log[1].headers.iter().any(|(k, _)| k == "idempotency-key"));
    // Stored where handle_webhook reads it, and no other role can (a server's options are
    // readable by all), with the account it came from.
    assert_eq!(
        mapping_option(&mut env, "webhook_secret").as_deref(),
        Some(secret.as_str())
    );
    assert!(!server_options(&mut env).join(",").contains(&secret));
    assert_eq!(option(&mut env, "account_id").as_deref(), Some(ACCOUNT_ID));
    assert!(!said(&env).contains(&secret), "the secret was printed");

    // A delivery the fake signs for this endpoint is applied; one signed otherwise refused.
    let evt = a_change(&mut env, "Endpoint");
    let (payload, header) = env.fake.webhook_to(&evt, &id).expect("subscribed");
    let ok = handle(&mut env, &payload, Some(&header), None).expect("accepted");
    assert_eq!(ok["action"], "applied");
    let evt = a_change(&mut env, "Forged");
    let (payload, header) = env
        .fake
        .webhook(&evt, "whsec_someone_else", None)
        .expect("event");
    let e = handle(&mut env, &payload, Some(&header), None).expect_err("refused");
    assert_eq!(e.code, "28000", "{e:?}");
    assert!(!e.all_text().contains(&secret), "{e:?}");
}

#[test]
fn lists_the_accounts_endpoints_and_whether_they_serve_this_database() {
    let mut env = synced();
    let ours = create(&mut env, None).expect("created")["id"]
        .as_str()
        .expect("id")
        .to_string();
    // Another endpoint, made in the Dashboard: one event, no metadata.
    let (status, other) = env.stripe(
        "POST",
        "/webhook_endpoints",
        "url=https://example.com/other&enabled_events[]=product.updated",
    );
    assert_eq!(status, 200, "{other}");
    let other = other["id"].as_str().expect("id").to_string();
    let (status, all) = env.stripe(
        "POST",
        "/webhook_endpoints",
        "url=https://example.com/all&enabled_events[]=*",
    );
    assert_eq!(status, 200, "{all}");
    let rows = env.query(
        "select id, url, serves_this, missing_events, names_this, server_name, status, enabled_events
           from stripe_fdw.webhook_endpoints() order by created, id",
    );
    let by_id = |id: &str| {
        rows.iter()
            .find(|r| r.get::<_, String>(0) == id)
            .unwrap_or_else(|| panic!("{id} listed"))
    };
    assert_eq!(rows.len(), 3);
    let o = by_id(&ours);
    assert_eq!(o.get::<_, String>(1), URL);
    assert!(o.get::<_, bool>(2), "ours serves this database");
    assert!(o.get::<_, Vec<String>>(3).is_empty());
    assert!(o.get::<_, bool>(4), "and its metadata names it");
    assert_eq!(o.get::<_, String>(5), env.server);
    assert_eq!(o.get::<_, Vec<String>>(7), NEEDED);
    let t = by_id(&other);
    assert!(!t.get::<_, bool>(2));
    assert_eq!(
        t.get::<_, Vec<String>>(3),
        [
            "price.created",
            "price.deleted",
            "price.updated",
            "product.created",
            "product.deleted"
        ]
    );
    assert!(!t.get::<_, bool>(4));
    let a = by_id(all["id"].as_str().expect("id"));
    assert!(a.get::<_, bool>(2), "'*' subscribes to everything");
    assert!(!a.get::<_, bool>(4));
}

#[test]
fn only_the_owner_creates_and_only_roles_with_usage_list() {
    let mut env = synced();
    let key = env.key.clone();
    let user = format!("hooker_{}", env.s);
    let stranger = format!("stranger_{}", env.s);
    env.exec(&format!(
        "create role {user}; create role {stranger};
         grant usage on schema stripe_fdw to {user}, {stranger};
         grant usage on foreign server {{server}} to {user};
         create user mapping for {user} server {{server}} options (api_key '{key}');
         create user mapping for {stranger} server {{server}} options (api_key '{key}');"
    ));
    env.take_log();
    env.exec(&format!("set role {user}"));
    let e = create(&mut env, None).expect_err("not the owner");
    assert_eq!(e.code, "42501", "{e:?}");
    assert!(e.message.contains("only the owner"), "{e:?}");
    assert!(e.hint.is_some());
    let n: i64 = env.query("select count(*) from stripe_fdw.webhook_endpoints()")[0].get(0);
    assert_eq!(n, 0, "a role with USAGE lists");
    env.exec(&format!("reset role; set role {stranger}"));
    let e = env.error("select * from stripe_fdw.webhook_endpoints('{server}')");
    assert_eq!(e.code, "42704", "{e:?}");
    let server = env.server.clone();
    let e = create(&mut env, Some(&server)).expect_err("no usage");
    assert_eq!(e.code, "42704", "{e:?}");
    env.exec("reset role");
    assert_eq!(
        paths(&env.take_log()),
        ["GET /v1/webhook_endpoints"],
        "nothing created: only the USAGE role's list reached Stripe"
    );
    assert!(option(&mut env, "webhook_secret").is_none());
}

#[test]
fn the_server_is_the_named_one_or_the_only_one_and_something_must_need_events() {
    let mut env = synced();
    let e = create(&mut env, Some("no_such_server")).expect_err("no server");
    assert_eq!(e.code, "42704", "{e:?}");
    let second = format!("second_{}", env.s);
    env.exec(&format!(
        "create server {second} foreign data wrapper stripe_wrapper options (api_url '{}')",
        env.fake.base_url()
    ));
    let e = create(&mut env, None).expect_err("ambiguous");
    assert_eq!(e.code, "42725", "{e:?}");
    assert!(
        e.message.contains(&env.server) && e.message.contains(&second),
        "names them: {e:?}"
    );
    assert!(e.hint.as_deref().unwrap_or("").contains("server"), "{e:?}");
    // A server nothing reads from: nothing to subscribe to.
    env.exec(&format!(
        "create user mapping for current_user server {second} options (api_key '{}')",
        env.key
    ));
    env.take_log();
    let e = create(&mut env, Some(&second)).expect_err("nothing registered");
    assert_eq!(e.code, "55000", "{e:?}");
    assert!(
        e.hint.as_deref().unwrap_or("").contains("create_sync"),
        "{e:?}"
    );
    assert!(env.take_log().is_empty(), "nothing asked of Stripe");
    env.exec(&format!("drop server {second} cascade"));
}

#[test]
fn an_event_for_another_account_is_refused_with_nothing_written() {
    let mut env = synced();
    let id = create(&mut env, None).expect("created")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let secret = env.fake.endpoint_secret(&id).expect("secret");
    let evt = a_change(&mut env, "Elsewhere");
    let (payload, _) = env.fake.webhook_to(&evt, &id).expect("subscribed");
    let sign = |account: &str| {
        let mut v: Value = serde_json::from_str(&payload).expect("json");
        v["account"] = json!(account);
        let body = v.to_string();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs() as i64;
        let header = stripe_fdw_core::webhook::sign_header(body.as_bytes(), &secret, now);
        (body, header)
    };
    let before = recorded(&mut env);
    env.take_log();
    let (body, header) = sign("acct_1SomeoneElse000");
    let e = handle(&mut env, &body, Some(&header), None).expect_err("refused");
    assert_eq!(e.code, "22023", "{e:?}");
    assert!(
        e.message.contains("acct_1SomeoneElse000") && e.message.contains(ACCOUNT_ID),
        "{e:?}"
    );
    assert!(!e.all_text().contains(&secret), "{e:?}");
    assert!(env.take_log().is_empty(), "nothing asked of Stripe");
    assert_eq!(recorded(&mut env), before, "nothing written");
    let id = hobby(&mut env);
    assert_ne!(
        synced_product(&mut env, &id, "name").as_deref(),
        Some("Elsewhere")
    );
    // An event that names this server's own account is applied.
    let (body, header) = sign(ACCOUNT_ID);
    let r = handle(&mut env, &body, Some(&header), None).expect("accepted");
    assert_eq!(r["action"], "applied");
}

#[test]
fn a_second_endpoint_keeps_both_secrets_until_the_previous_is_forgotten() {
    let mut env = synced();
    let first = create(&mut env, None).expect("first")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let second = create(&mut env, None).expect("second");
    assert_eq!(second["previous_secret_kept"], true);
    let second = second["id"].as_str().expect("id").to_string();
    let (old, new) = (
        env.fake.endpoint_secret(&first).expect("old"),
        env.fake.endpoint_secret(&second).expect("new"),
    );
    assert_eq!(
        mapping_option(&mut env, "webhook_secret"),
        Some(format!("{new},{old}"))
    );
    assert!(!said(&env).contains(&new) && !said(&env).contains(&old));

    // While both endpoints deliver, each one's deliveries verify.
    let evt = a_change(&mut env, "Old+endpoint");
    let (payload, header) = env.fake.webhook_to(&evt, &first).expect("old endpoint");
    assert_eq!(
        handle(&mut env, &payload, Some(&header), None).expect("old")["action"],
        "applied"
    );
    let evt = a_change(&mut env, "New+endpoint");
    let (payload, header) = env.fake.webhook_to(&evt, &second).expect("new endpoint");
    assert_eq!(
        handle(&mut env, &payload, Some(&header), None).expect("new")["action"],
        "applied"
    );

    // The old endpoint deleted, its secret is forgotten: only the new one verifies.
    let (status, _) = env.stripe("DELETE", &format!("/webhook_endpoints/{first}"), "");
    assert_eq!(status, 200);
    let evt = a_change(&mut env, "Late+old");
    let late = env.fake.webhook(&evt, &old, None).expect("event");
    let forgot: bool = env.query("select stripe_fdw.forget_previous_webhook_secret()")[0].get(0);
    assert!(forgot);
    let again: bool = env.query("select stripe_fdw.forget_previous_webhook_secret()")[0].get(0);
    assert!(!again, "nothing left to forget");
    assert_eq!(
        mapping_option(&mut env, "webhook_secret"),
        Some(new.clone())
    );
    let e = handle(&mut env, &late.0, Some(&late.1), None).expect_err("old secret");
    assert_eq!(e.code, "28000", "{e:?}");
    let (payload, header) = env.fake.webhook_to(&evt, &second).expect("new endpoint");
    assert_eq!(
        handle(&mut env, &payload, Some(&header), None).expect("new")["action"],
        "applied"
    );
}

#[test]
fn with_supabase_vault_the_secret_goes_to_vault() {
    let mut env = synced();
    // Supabase Vault's interface as stripe_fdw uses it, in this test's own database.
    env.exec(
        "create schema vault;
         create table vault.secrets (id uuid primary key default gen_random_uuid(), name text unique,
                                     description text, secret text, key_id uuid);
         create view vault.decrypted_secrets as
           select id, name, description, secret, secret as decrypted_secret, key_id from vault.secrets;
         create function vault.create_secret(new_secret text, new_name text default null,
                                             new_description text default '', new_key_id uuid default null)
           returns uuid language sql as
           $$ insert into vault.secrets (secret, name, description, key_id)
              values (new_secret, new_name, new_description, new_key_id) returning id $$;
         create function vault.update_secret(secret_id uuid, new_secret text default null,
                                             new_name text default null, new_description text default null,
                                             new_key_id uuid default null)
           returns void language sql as
           $$ update vault.secrets set secret = coalesce(new_secret, secret) where id = secret_id $$;",
    );
    let r = create(&mut env, None).expect("created");
    let id = r["id"].as_str().expect("id").to_string();
    let secret = env.fake.endpoint_secret(&id).expect("secret");
    let name = format!("stripe_fdw_webhook_{}", env.server);
    assert_eq!(
        r["secret_stored_in"],
        format!("Supabase Vault secret \"{name}\" (server option webhook_secret_name)")
    );
    assert_eq!(option(&mut env, "webhook_secret_name"), Some(name.clone()));
    assert!(option(&mut env, "webhook_secret").is_none(), "not inline");
    let kept: String = env.query(&format!(
        "select decrypted_secret from vault.decrypted_secrets where name = '{name}'"
    ))[0]
        .get(0);
    assert_eq!(kept, secret);
    assert!(!said(&env).contains(&secret));
    let evt = a_change(&mut env, "Vaulted");
    let (payload, header) = env.fake.webhook_to(&evt, &id).expect("subscribed");
    assert_eq!(
        handle(&mut env, &payload, Some(&header), None).expect("ok")["action"],
        "applied"
    );

    // A second endpoint: the same Vault secret holds both until the previous is forgotten.
    let second = create(&mut env, None).expect("second");
    let new = env
        .fake
        .endpoint_secret(second["id"].as_str().expect("id"))
        .expect("new");
    let kept: String = env.query(&format!(
        "select decrypted_secret from vault.decrypted_secrets where name = '{name}'"
    ))[0]
        .get(0);
    assert_eq!(kept, format!("{new},{secret}"));
}

/// What can fail is checked before Stripe makes the endpoint; what fails after it says which
/// endpoint was made and that it must be deleted (Stripe shows its secret once).
#[test]
fn a_failure_before_the_create_asks_nothing_of_stripe_and_one_after_names_the_endpoint() {
    let mut env = synced();
    env.exec("alter server {server} options (add account 'acct_SomeoneElse00')");
    env.take_log();
    let e = create(&mut env, None).expect_err("the account does not match the key's");
    assert_eq!(e.code, "22023", "{e:?}");
    assert!(e.message.contains("acct_SomeoneElse00"), "{e:?}");
    assert!(
        !paths(&env.take_log()).iter().any(|p| p.starts_with("POST")),
        "no endpoint was made"
    );
    env.exec("alter server {server} options (drop account)");

    // Vault there, but its create_secret fails for this role.
    env.exec(
        "create schema vault;
         create view vault.decrypted_secrets as
           select null::uuid as id, null::text as name, null::text as decrypted_secret where false;
         create function vault.create_secret(new_secret text, new_name text default null,
                                             new_description text default '', new_key_id uuid default null)
           returns uuid language plpgsql as
           $$ begin raise exception 'permission denied for function create_secret' using errcode = '42501'; end $$;",
    );
    env.take_log();
    let e = create(&mut env, None).expect_err("the secret cannot be kept");
    let made = env
        .take_log()
        .into_iter()
        .find(|l| l.method == "POST")
        .expect("the endpoint was made");
    assert_eq!(made.status, 200);
    let (_, listed) = env.stripe("GET", "/webhook_endpoints", "");
    let id = listed["data"][0]["id"]
        .as_str()
        .expect("listed")
        .to_string();
    assert!(
        e.message.contains(&id) && e.message.contains("permission denied"),
        "{e:?}"
    );
    let hint = e.hint.clone().unwrap_or_default();
    assert!(
        hint.contains(&format!("stripe webhook_endpoints delete {id}")),
        "{e:?}"
    );
    let secret = env.fake.endpoint_secret(&id).expect("issued");
    assert!(!e.all_text().contains(&secret) && !said(&env).contains(&secret));
}
