//! Hosted Supabase, without the extension's library: the migration, the stripe-sync Edge Function
//! (Deno) and the fake Stripe keep the starter's tables equal to Stripe through the seed's
//! scenarios. scripts/hosted-test runs these (`--ignored`) against a clean PostgreSQL with no
//! stripe_fdw files (HOSTED_PGHOST/HOSTED_PGPORT); the extension's cluster (PGHOST/PGPORT) reads
//! Stripe live for the checks, the same checks as the extension's own tests.

mod hosted_env;
mod starter;

use e2e::*;
use hosted_env::*;

/// The seed's story on hosted Supabase: first deploy, an idle run, a signed webhook, its replay, a
/// forged one, changes while down and catch-up, drift repaired by the reconciliation, health.
#[test]
#[ignore = "run by scripts/hosted-test, against a PostgreSQL without the extension's library"]
fn the_starter_kept_equal_to_stripe_without_the_library() {
    let mut h = Hosted::new(Catalog::Demo, 50);

    // Nothing of the extension's library is loaded or referenced.
    let libdir = var("HOSTED_LIBDIR");
    assert!(
        !std::path::Path::new(&format!("{libdir}/stripe_fdw.so")).exists(),
        "the hosted cluster has no stripe_fdw.so"
    );
    assert_eq!(
        h.int(
            "select count(*) from pg_proc where probin is not null and probin like '%stripe_fdw%'"
        ),
        0
    );

    // The webhook endpoint, made by the function: only the events the syncs need, never '*'.
    let (body, secret) = h.setup_endpoint();
    let endpoints = h.oracle.fake.endpoints();
    assert_eq!(endpoints.len(), 1);
    let enabled: Vec<String> = endpoints[0]["enabled_events"]
        .as_array()
        .expect("enabled_events")
        .iter()
        .map(|e| e.as_str().unwrap_or_default().to_string())
        .collect();
    let wanted: Vec<String> = h
        .q("select unnest(stripe_fdw.endpoint_events('stripe')) order by 1")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut got = enabled.clone();
    got.sort();
    assert_eq!(got, wanted, "subscribed to exactly what the syncs need");
    assert!(!enabled.contains(&"*".to_string()));
    assert!(
        !body.to_string().contains(&secret),
        "setup never answers the secret"
    );

    // First deploy: empty tables, then one worker run fills them from Stripe.
    assert_eq!(h.int("select count(*) from public.products"), 0);
    h.worker_until_done();
    h.assert_in_sync("first deploy");
    assert_eq!(
        h.int("select count(*) from stripe_fdw.sync_status where synced_at is null"),
        0,
        "every target synced"
    );

    // An idle run costs one request.
    h.oracle.fake.clear_log();
    let _ = h.worker();
    let log = h.oracle.fake.log();
    assert_eq!(
        log.len(),
        1,
        "an idle run is one request: {:?}",
        log.iter().map(|e| &e.path).collect::<Vec<_>>()
    );
    assert!(log[0].path.ends_with("/events"), "{}", log[0].path);

    // A signed webhook: the product is re-read from Stripe and applied.
    let pro = h.q("select id from public.products where name = 'Pro'")[0].get::<_, String>(0);
    h.stripe("POST", &format!("/products/{pro}"), "name=Pro%20Plus");
    let ev = h.event_for("product.updated", &pro);
    h.oracle.fake.clear_log();
    assert_eq!(h.deliver(&ev, &secret), 200);
    assert_eq!(
        h.q(&format!(
            "select name from public.products where id = '{pro}'"
        ))[0]
            .get::<_, String>(0),
        "Pro Plus"
    );
    assert!(
        h.oracle.fake.log().iter().any(|e| e.path.contains(&pro)),
        "the product was read again from Stripe"
    );
    h.assert_in_sync("after a webhook");

    // Its replay does nothing and asks Stripe nothing.
    let recorded = h.int("select count(*) from stripe_fdw.webhook_events");
    h.oracle.fake.clear_log();
    assert_eq!(h.deliver(&ev, &secret), 200);
    assert!(h.oracle.fake.log().is_empty(), "a replay reads nothing");
    assert_eq!(
        h.int("select count(*) from stripe_fdw.webhook_events"),
        recorded
    );

    // A forged one (another secret) is refused, and nothing is written.
    h.stripe("POST", &format!("/products/{pro}"), "name=Forged");
    let forged = h.event_for("product.updated", &pro);
    assert_eq!(h.deliver(&forged, "whsec_not_the_endpoints"), 400);
    assert_eq!(
        h.int("select count(*) from stripe_fdw.webhook_events"),
        recorded
    );
    assert_eq!(
        h.q(&format!(
            "select name from public.products where id = '{pro}'"
        ))[0]
            .get::<_, String>(0),
        "Pro Plus"
    );

    // Changes while the app was down (no webhook delivered): the worker catches up from events.
    let new_product = h.stripe("POST", "/products", "name=Enterprise")["id"]
        .as_str()
        .expect("id")
        .to_string();
    h.stripe(
        "POST",
        "/prices",
        &format!("product={new_product}&currency=usd&unit_amount=9900&recurring[interval]=month"),
    );
    let hobby = h.q("select id from public.products where name = 'Hobby'")[0].get::<_, String>(0);
    h.stripe(
        "POST",
        &format!("/products/{hobby}"),
        "description=For%20side%20projects",
    );
    let some_price = h.q(&format!(
        "select id from public.prices where product_id = '{hobby}' order by id limit 1"
    ))[0]
        .get::<_, String>(0);
    h.stripe("POST", &format!("/prices/{some_price}"), "active=false");
    let _ = h.worker();
    h.assert_in_sync("after catch-up");
    assert!(
        h.int("select count(*) from stripe_fdw.webhook_events where via = 'catch_up' and action = 'applied'") >= 4,
        "catch-up applied the missed events"
    );

    // Drift: rows changed behind the engine's back are repaired by the daily reconciliation, and
    // health says so.
    h.q(&format!(
        "update public.products set name = 'Wrong' where id = '{hobby}'"
    ));
    h.q(&format!(
        "delete from public.prices where id = '{some_price}'"
    ));
    // A day later (the account's reconcile_every): the worker's next run reconciles in full.
    h.q("update stripe_fdw.sync_registry set synced_at = synced_at - interval '25 hours'");
    assert_eq!(h.plan()["do"], "sync_start");
    h.worker_until_done();
    h.assert_in_sync("after the reconciliation");
    assert!(h.int("select coalesce(sum(repaired), 0)::bigint from stripe_fdw.sync_status") >= 2);
    let warnings: Vec<String> = h
        .q("select reason from stripe_fdw.health where status <> 'ok'")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        warnings.iter().any(|w| w.contains("repair")),
        "health reports the repair: {warnings:?}"
    );

    // A full sync asked for by hand clears it; then health says only that webhooks were missed
    // (the downtime above: catch-up applied events no webhook delivered).
    h.q("select stripe_fdw.request_sync('stripe')");
    h.worker_until_done();
    h.assert_in_sync("after a requested sync");
    let problems: Vec<String> = h
        .q("select kind || ' ' || name || ': ' || reason from stripe_fdw.health where status <> 'ok'")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        problems,
        vec!["server stripe: webhooks are being missed: in the last day catch_up applied 4 event(s) no webhook delivered"],
        "health"
    );
}

/// A webhook applied while a full sync reads across bounded runs is not undone by the older
/// snapshot; runs resume where the last stopped.
#[test]
#[ignore = "run by scripts/hosted-test, against a PostgreSQL without the extension's library"]
fn a_webhook_during_a_long_full_sync_is_kept() {
    // 7 requests a run: the newest event, subscriptions, customers, prices (3 pages) and the first
    // page of products (children first); the second page of products waits for the next run.
    let mut h = Hosted::new(generated(150, 2), 7);
    let (_, secret) = h.setup_endpoint();

    let first = h.worker();
    let plan = h.plan();
    assert!(
        plan["object"] == "products" && plan["starting_after"].is_string(),
        "one bounded run reads the first page of products only: {plan} after {first}"
    );
    assert_eq!(
        h.int("select count(*) from public.products"),
        0,
        "nothing is applied before the full read is whole"
    );
    // The products are read already; now one changes, and its webhook is applied.
    let (_, list) = h.oracle.stripe("GET", "/products?limit=1", "");
    let p = list["data"][0]["id"]
        .as_str()
        .expect("a product")
        .to_string();
    h.stripe(
        "POST",
        &format!("/products/{p}"),
        "name=Renamed%20during%20the%20sync",
    );
    let ev = h.event_for("product.updated", &p);
    assert_eq!(h.deliver(&ev, &secret), 200);
    // The rest of the full read, then its write: the older snapshot does not undo the webhook.
    // The two reads overlap and disagree about the product: it is read again under the lock.
    h.worker_until_done();
    assert!(
        h.int("select coalesce(sum(n), 0)::bigint from stripe_fdw.engine_counters where name = 'conflicts'") >= 1,
        "the full read met the webhook's newer read"
    );
    // All or nothing: the call made again after reading again wrote every group, and
    // sync_status counts what the full read wrote, also for the groups the conflict was not in.
    assert_eq!(
        h.int(
            "select inserted from stripe_fdw.sync_status where target = 'stripe.prices'::regclass"
        ),
        300
    );
    assert_eq!(
        h.q(&format!(
            "select name from public.products where id = '{p}'"
        ))[0]
            .get::<_, String>(0),
        "Renamed during the sync"
    );
    h.assert_in_sync("after the long full sync");
}

/// After an outage longer than the events Stripe keeps, the worker does a full sync.
#[test]
#[ignore = "run by scripts/hosted-test, against a PostgreSQL without the extension's library"]
fn an_outage_longer_than_stripes_events_is_a_full_sync() {
    let mut h = Hosted::new(Catalog::Demo, 50);
    h.worker_until_done();
    let pro = h.q("select id from public.products where name = 'Pro'")[0].get::<_, String>(0);
    h.stripe("POST", &format!("/products/{pro}"), "name=Pro%202");
    h.oracle.fake.age_events(31 * 86400);
    h.q("update stripe_fdw.event_cursor set recorded_at = now() - interval '31 days', event_created = event_created - 31 * 86400");
    assert_eq!(h.plan()["do"], "sync_start");
    h.worker_until_done();
    h.assert_in_sync("after the long outage");
}

/// The SQL-only extension, for self-hosted databases without the library, installs and works.
#[test]
#[ignore = "run by scripts/hosted-test, against a PostgreSQL without the extension's library"]
fn the_sql_only_extension_installs() {
    let dbname = format!("sqlonly_{}", unique_tag());
    hosted_connect("postgres", "postgres")
        .expect("connect")
        .batch_execute(&format!("create database {dbname}"))
        .expect("create database");
    let mut db = hosted_connect("postgres", &dbname).expect("connect");
    db.batch_execute("create extension stripe_fdw_sql cascade")
        .expect("create extension stripe_fdw_sql");
    let tick: i64 = db
        .query_one("select stripe_fdw.read_tick()", &[])
        .expect("read_tick")
        .get(0);
    assert!(tick > 0);
    let err = db
        .batch_execute("call stripe_fdw.catch_up()")
        .err()
        .map(|e| describe(&e))
        .unwrap_or_default();
    assert!(
        err.is_empty() || err.contains("Edge Function") || err.contains("library"),
        "{err}"
    );
    drop(db);
    let _ = hosted_connect("postgres", "postgres")
        .expect("connect")
        .batch_execute(&format!("drop database {dbname}"));
}

/// A full read spans worker runs; objects made between its pages never name a parent the read
/// lacks (children are read first), and a page cursor deleted between runs starts the read over.
#[test]
#[ignore = "run by scripts/hosted-test, against a PostgreSQL without the extension's library"]
fn a_full_read_across_runs_survives_what_changes_between_them() {
    // Run 1: the newest event, then subscriptions, customers and prices; products come later.
    let mut h = Hosted::new(Catalog::Demo, 4);
    let _ = h.worker();
    assert_eq!(h.plan()["object"], "products", "{}", h.plan());
    let p = h.stripe("POST", "/products", "name=Made%20between%20pages")["id"]
        .as_str()
        .expect("id")
        .to_string();
    h.stripe(
        "POST",
        "/prices",
        &format!("product={p}&currency=usd&unit_amount=500"),
    );
    h.worker_until_done();
    let _ = h.worker();
    h.assert_in_sync("a product and its price made between the pages");

    // More products than a page; the first page's last one (the cursor) is deleted before the
    // next run reads on from it.
    let mut h = Hosted::new(generated(150, 0), 5);
    let _ = h.worker();
    let plan = h.plan();
    assert_eq!(plan["object"], "products", "{plan}");
    let cursor = plan["starting_after"]
        .as_str()
        .expect("a cursor")
        .to_string();
    h.stripe("DELETE", &format!("/products/{cursor}"), "");
    h.worker_until_done();
    let _ = h.worker();
    h.assert_in_sync("after the cursor was deleted");
}

/// What Supabase's platform has in a project: Vault, pg_net and pg_cron's `cron.schedule`, made by
/// a superuser (stand-ins: pg_net is not in Debian, and pg_cron runs only in the database
/// `cron.database_name` names). The job's request is recorded, then sent as pg_net would.
const PLATFORM: &str = r#"
create schema vault;
create table vault.secrets (id uuid primary key default gen_random_uuid(), name text unique, secret text not null);
create view vault.decrypted_secrets as select s.id, s.name, s.secret as decrypted_secret from vault.secrets s;
create function vault.create_secret(new_secret text, new_name text default null) returns uuid
  language sql security definer set search_path = '' as
  $$ insert into vault.secrets (secret, name) values (new_secret, new_name) returning id $$;
create function vault.update_secret(secret_id uuid, new_secret text) returns void
  language sql security definer set search_path = '' as
  $$ update vault.secrets set secret = new_secret where id = secret_id $$;
grant usage on schema vault to {owner};
grant select on vault.decrypted_secrets, vault.secrets to {owner};
grant execute on function vault.create_secret(text, text), vault.update_secret(uuid, text) to {owner};
create schema net;
create table net.requests (id bigserial primary key, url text, headers jsonb, timeout_milliseconds int);
create function net.http_post(url text, body jsonb default '{}', params jsonb default '{}',
                              headers jsonb default '{}', timeout_milliseconds int default 5000) returns bigint
  language sql security definer set search_path = '' as
  $$ insert into net.requests (url, headers, timeout_milliseconds) values (url, headers, timeout_milliseconds) returning id $$;
grant usage on schema net to {owner};
grant select on net.requests to {owner};
grant execute on function net.http_post(text, jsonb, jsonb, jsonb, int) to {owner};
create schema cron;
create table cron.job (jobid bigserial primary key, jobname text unique, schedule text, command text);
create function cron.schedule(job_name text, schedule text, command text) returns bigint
  language sql security definer set search_path = '' as
  $$ insert into cron.job (jobname, schedule, command) values (job_name, schedule, command) returning jobid $$;
grant usage on schema cron to {owner};
grant select on cron.job to {owner};
grant execute on function cron.schedule(text, text, text) to {owner};
"#;

/// docs/hosted-supabase.md's step 5 as written, with Supabase's Vault: /setup keeps the endpoint's
/// secret in Vault, the documented cron job's request (its bearer secret read from Vault) starts
/// the worker, and a delivery verifies with the secret from Vault.
#[test]
#[ignore = "run by scripts/hosted-test, against a PostgreSQL without the extension's library"]
fn the_documented_schedule_starts_the_worker_with_secrets_from_vault() {
    let mut h = Hosted::with(Catalog::Demo, 50, PLATFORM, &doc_block());
    let (_, secret) = h.setup_endpoint();
    assert_eq!(
        h.int("select count(*) from vault.decrypted_secrets where name = 'stripe_webhook_secret' and decrypted_secret like 'whsec_%'"),
        1,
        "the endpoint's secret is in Vault"
    );
    assert_eq!(h.int("select count(*) from stripe_fdw.account_secrets"), 0);

    // Step 5, word for word but for the two placeholders.
    let step5 = doc_sql("### 5. Schedule the worker")
        .replace("<the value of $STRIPE_SYNC_WORKER_SECRET>", WORKER_SECRET)
        .replace(
            "https://<project-ref>.supabase.co/functions/v1/stripe-sync/worker",
            &format!("{}/worker", h.url),
        );
    h.exec(&step5);
    // pg_cron's turn: the job's command, then pg_net's request.
    let command: String =
        h.q("select command from cron.job where jobname = 'stripe-sync'")[0].get(0);
    h.exec(&command);
    let req =
        h.q("select url, headers ->> 'Authorization' from net.requests order by id desc limit 1");
    let (url, auth): (String, String) = (req[0].get(0), req[0].get(1));
    let resp = ureq::post(&url)
        .set("Authorization", &auth)
        .timeout(std::time::Duration::from_secs(120))
        .send_string("")
        .expect("the worker answers the job's request");
    assert_eq!(resp.status(), 200);
    h.assert_in_sync("after the scheduled run");

    // A delivery verifies with the endpoint's secret from Vault.
    let pro = h.q("select id from public.products where name = 'Pro'")[0].get::<_, String>(0);
    h.stripe(
        "POST",
        &format!("/products/{pro}"),
        "name=Pro%20from%20Vault",
    );
    let ev = h.event_for("product.updated", &pro);
    assert_eq!(h.deliver(&ev, &secret), 200);
    h.assert_in_sync("after a webhook verified with Vault's secret");
}
