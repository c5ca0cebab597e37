//! stripe_fdw.health: ok when syncs, caches and webhooks keep up; warning when webhooks are being
//! missed (catch_up applied what no webhook delivered), when a full sync had to repair rows, when
//! nothing was ever synced or no webhook came while Stripe has newer events; failing after an
//! error. `select * from stripe_fdw.health where status <> 'ok'` is the monitoring query.
//!
//! Each test has a database of its own (the starter's tables, synced, with a webhook secret).

mod hooks;
mod starter;

use e2e::*;
use hooks::*;
use starter::*;

/// (kind, name, status, reason) of every row that is not ok.
fn problems(env: &mut Env) -> Vec<(String, String, String, String)> {
    env.query("select kind, name, status, coalesce(reason, '') from stripe_fdw.health where status <> 'ok' order by 1, 2")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

#[test]
fn all_ok_when_webhooks_keep_the_tables_fresh() {
    let mut env = hooked(Catalog::Demo);
    env.exec("select stripe_fdw.create_cache('{s}', '{s}_cache'); call stripe_fdw.refresh_cache()");
    let hobby = product_id(&mut env, "Hobby");
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "name=Delivered",
    );
    let evt = event_for(&env, "product.updated", &hobby);
    assert_eq!(deliver(&mut env, &evt)["action"], "applied");
    env.exec("call stripe_fdw.run_scheduled()");
    assert_eq!(problems(&mut env), vec![]);
    let kinds = env.strings("select kind || ':' || name from stripe_fdw.health order by 1");
    assert!(
        kinds.contains(&"sync:public.products".to_string()),
        "{kinds:?}"
    );
    assert!(kinds.iter().any(|k| k.starts_with("cache:")), "{kinds:?}");
    assert!(
        kinds.contains(&format!("server:{}", env.server)),
        "{kinds:?}"
    );
}

#[test]
fn missed_webhooks_that_catch_up_repairs_turn_the_server_to_warning() {
    let mut env = hooked(Catalog::Demo);
    let hobby = product_id(&mut env, "Hobby");
    // Two changes whose webhooks never arrive (the endpoint is down, or registered elsewhere).
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "name=Missed+once",
    );
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "name=Missed+twice",
    );
    env.exec("call stripe_fdw.catch_up()");
    assert_eq!(
        env.strings(&format!(
            "select name from public.products where id = '{hobby}'"
        )),
        ["Missed twice"]
    );
    let p = problems(&mut env);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!((p[0].0.as_str(), p[0].2.as_str()), ("server", "warning"));
    assert!(
        p[0].3
            .contains("webhooks are being missed: in the last day catch_up applied 2 event(s)"),
        "{p:?}"
    );
    let missed: i64 =
        env.query("select missed_webhooks from stripe_fdw.health where kind = 'server'")[0].get(0);
    assert_eq!(missed, 2);
}

#[test]
fn a_full_sync_that_repairs_rows_and_a_failing_sync_show() {
    let mut env = hooked(Catalog::Demo);
    let hobby = product_id(&mut env, "Hobby");
    // Changed, and neither a webhook nor catch_up applied it: the scheduled reconciliation
    // repairs it, and says so.
    stripe_ok(&env, "POST", &format!("/products/{hobby}"), "name=Repaired");
    env.exec("call stripe_fdw.run_scheduled()");
    let p = problems(&mut env);
    assert!(
        p.iter().any(|(k, n, s, r)| k == "sync"
            && n == "public.products"
            && s == "warning"
            && r.contains("had to repair")
            && r.contains("rows written: 1")),
        "{p:?}"
    );
    // A failing sync is failing, with its error.
    let mut fail = rule(FaultKind::Status);
    fail.status = Some(400);
    fail.path_prefix = Some("/v1/products".into());
    env.fake.set_faults(FaultConfig {
        latency_ms: 0,
        rules: vec![fail],
    });
    let _ = env.error("call stripe_fdw.sync()");
    env.fake.set_faults(FaultConfig::default());
    let p = problems(&mut env);
    assert!(
        p.iter().any(|(k, n, s, r)| k == "sync"
            && n == "public.products"
            && s == "failing"
            && r.starts_with("the last sync failed")),
        "{p:?}"
    );
    // Fixed: the next good sync clears it.
    env.exec("call stripe_fdw.sync()");
    assert_eq!(problems(&mut env), vec![]);
    // A sync someone calls to repair by hand is not the schedule's sign of missed webhooks.
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "name=Repaired+By+Hand",
    );
    env.exec("call stripe_fdw.sync()");
    assert_eq!(problems(&mut env), vec![]);
    let repaired: Option<i64> = env.query(
        "select repaired from stripe_fdw.sync_status where target = 'public.products'::regclass",
    )[0]
    .get(0);
    assert_eq!(repaired, None);
}

#[test]
fn never_synced_no_starting_point_and_silent_webhooks_are_warnings() {
    let mut env = starter(Catalog::Demo);
    let p = problems(&mut env);
    assert!(
        p.iter()
            .any(|(k, _, s, r)| k == "sync" && s == "warning" && r.starts_with("never synced")),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|(k, _, s, r)| k == "server" && s == "warning" && r.contains("no starting point")),
        "{p:?}"
    );
    env.exec("call stripe_fdw.sync()");
    assert_eq!(problems(&mut env), vec![]);
    // The last webhook came three hours ago; Stripe made an event two hours ago that no webhook
    // delivered.
    let hobby = product_id(&mut env, "Hobby");
    env.exec(&format!(
        "insert into stripe_fdw.webhook_events (id, type, created, received_at, action, via, server)
         values ('evt_old_delivery', 'product.updated', now() - interval '3 hours', now() - interval '3 hours',
                 'applied', 'webhook', '{}')",
        env.server
    ));
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "name=Unannounced",
    );
    env.fake.age_events(2 * 3600);
    env.exec("call stripe_fdw.sync()"); // records Stripe's newest event as the starting point
    let p = problems(&mut env);
    assert!(
        p.iter().any(|(k, _, s, r)| k == "server"
            && s == "warning"
            && r.starts_with("no webhook received since")),
        "{p:?}"
    );
}

/// The pg_cron alert of docs/monitoring.md: its job body raises while anything is not ok, naming
/// the problems, and succeeds once all is well.
#[test]
fn the_documented_alert_fails_while_anything_is_not_ok() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/monitoring.md");
    let doc = std::fs::read_to_string(path).expect("docs/monitoring.md");
    let block = doc
        .split("<!-- tested: tests/e2e/tests/health.rs -->")
        .nth(1)
        .and_then(|b| b.split("```sql").nth(1))
        .and_then(|b| b.split("```").next())
        .expect("the tested block");
    let body = block
        .split("$job$")
        .nth(1)
        .expect("the job's body between $job$ quotes");
    let mut env = starter(Catalog::Demo);
    let err = env.error(body);
    assert!(
        err.message.starts_with("stripe_fdw health:") && err.message.contains("never synced"),
        "{err:?}"
    );
    env.exec("call stripe_fdw.sync()");
    env.exec(body);
}

#[test]
fn a_catch_up_that_works_again_clears_the_failure_it_recorded() {
    let mut env = hooked(Catalog::Demo);
    let mut fail = rule(FaultKind::Status);
    fail.status = Some(400);
    fail.path_prefix = Some("/v1/events".into());
    env.fake.set_faults(FaultConfig {
        latency_ms: 0,
        rules: vec![fail],
    });
    let _ = env.error("call stripe_fdw.catch_up()");
    let failing = problems(&mut env);
    assert!(
        failing
            .iter()
            .any(|(k, _, s, r)| k == "sync" && s == "failing" && r.contains("catch_up")),
        "{failing:?}"
    );
    env.fake.set_faults(FaultConfig::default());
    env.exec("call stripe_fdw.catch_up()");
    assert_eq!(
        problems(&mut env),
        vec![],
        "no full sync needed to clear it"
    );
}
