//! docs/recovery.md, run as written: each step's SQL block (after its `<!-- step: name -->`
//! marker) is executed statement by statement, as psql would, on a database in the state the step
//! is for, and must leave the copy equal to Stripe and `stripe_fdw.health` without a problem.

mod hooks;
mod starter;
mod support;

use e2e::*;
use hooks::*;
use serde_json::Value;
use starter::*;
use std::process::Command;
use stripe_fdw_core::webhook::signature;
use support::{bindir, connect_to, unique};

/// The statements of the SQL block after `<!-- step: {name} -->` in docs/recovery.md, with the
/// doc's names made this test's: `stripe_server` its server, `stripe.` its foreign tables' schema,
/// `sk_test_NEW_KEY` the key `new`, `whsec_NEW_SECRET` the secret `new`.
fn step(env: &Env, name: &str, new: &str) -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/recovery.md");
    let doc = std::fs::read_to_string(path).expect("docs/recovery.md");
    let marker = format!("<!-- step: {name} -->");
    let block = doc
        .split(&marker)
        .nth(1)
        .and_then(|after| after.split("```sql").nth(1))
        .and_then(|b| b.split("```").next())
        .unwrap_or_else(|| panic!("no ```sql block after {marker} in docs/recovery.md"));
    let sql: String = block
        .lines()
        .map(|l| l.split(" -- ").next().unwrap_or(l).trim_end())
        .filter(|l| !l.trim_start().starts_with("--") && !l.trim().is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    let sql = sql
        .replace("stripe_server", &env.server)
        .replace("stripe.", &format!("{}.", env.s))
        .replace("sk_test_NEW_KEY", new)
        .replace("whsec_NEW_SECRET", new);
    let statements: Vec<String> = sql
        .split(";\n")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| format!("{s};"))
        .collect();
    assert!(!statements.is_empty(), "{marker}: no statements");
    statements
}

/// Run a step; the rows of its last statement (the health check) as "kind name: status reason".
fn run_step(env: &mut Env, name: &str, new: &str) -> Vec<String> {
    let statements = step(env, name, new);
    let (last, rest) = statements.split_last().expect("statements");
    assert!(
        last.contains("stripe_fdw.health"),
        "{name} ends with the health check: {last}"
    );
    for s in rest {
        env.db
            .simple_query(s)
            .unwrap_or_else(|e| panic!("{name}: {s}: {}", describe(&e)));
    }
    env.query(last)
        .iter()
        .map(|r| {
            format!(
                "{} {}: {} {}",
                r.get::<_, String>(0),
                r.get::<_, String>(1),
                r.get::<_, String>(2),
                r.get::<_, Option<String>>(3).unwrap_or_default()
            )
        })
        .collect()
}

/// The synced tables and the caches hold what Stripe holds.
fn assert_all_equal_to_stripe(env: &mut Env) {
    assert_in_sync(env);
    for t in ["products", "prices"] {
        assert_eq!(drift(env, t), vec![], "{t}");
    }
    let cached: i64 = env.query(
        "select count(*) from stripe_fdw.cache_registry r, stripe_fdw.cache_drift(r.object) d",
    )[0]
    .get(0);
    assert_eq!(cached, 0, "the caches are equal to Stripe");
}

fn cached(env: &mut Env) {
    env.exec(
        "select stripe_fdw.create_cache('{s}', 'stripe_cache'); call stripe_fdw.refresh_cache();",
    );
}

#[test]
fn new_deployment_with_empty_tables() {
    let mut env = starter(Catalog::Demo);
    // The catalog was made before this deployment existed: no webhook will send it again.
    let n: i64 = env.query("select count(*) from public.products")[0].get(0);
    assert_eq!(n, 0);
    let step = step(&env, "new-deployment", "");
    // create_cache() in the doc reads schema stripe; here the foreign tables are in {s}.
    let problems = {
        for s in &step[..step.len() - 1] {
            let s = s.replace(
                "stripe_fdw.create_cache()",
                &env.sql("stripe_fdw.create_cache('{s}', 'stripe_cache')"),
            );
            env.db
                .simple_query(&s)
                .unwrap_or_else(|e| panic!("{s}: {}", describe(&e)));
        }
        env.strings(&format!(
            "select kind || ' ' || name || ': ' || reason from ({}) h",
            step[step.len() - 1].trim_end_matches(';')
        ))
    };
    assert_eq!(problems, Vec::<String>::new());
    assert_all_equal_to_stripe(&mut env);
    let catalog: i64 = env.query("select count(*) from stripe_cache.catalog")[0].get(0);
    assert_eq!(catalog, 3, "the pricing page lists the active products");
    let endpoints = env
        .strings("select url from stripe_fdw.webhook_endpoints() where names_this and serves_this");
    assert_eq!(endpoints, vec!["https://app.example.com/api/webhooks"]);
}

#[test]
fn an_outage_longer_than_30_days() {
    let mut env = hooked(Catalog::Demo);
    cached(&mut env);
    // The last event applied before the outage is catch_up's starting point.
    let hobby = product_id(&mut env, "Hobby");
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "description=Before",
    );
    let before = event_for(&env, "product.updated", &hobby);
    assert_eq!(deliver(&mut env, &before)["action"], "applied");
    env.exec("call stripe_fdw.catch_up()");
    // Down for 31 days: a rename, a new product and prices withdrawn, which no webhook delivered.
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "name=Hobby+Renamed",
    );
    create(&env, "/products", "name=Launched+While+Down");
    let team = product_id(&mut env, "Team");
    for price in prices_of(&mut env, &team) {
        stripe_ok(&env, "POST", &format!("/prices/{price}"), "active=false");
    }
    env.fake.age_events(31 * 24 * 3600);
    env.notices.lock().expect("notices").clear();

    let problems = run_step(&mut env, "long-outage", "");
    assert_eq!(problems, Vec::<String>::new());
    let notices = env.notices.lock().expect("notices").clone();
    assert!(
        notices.iter().any(|n| n.contains("full sync")),
        "{notices:?}"
    );
    assert_all_equal_to_stripe(&mut env);
    assert_eq!(
        synced_product(&mut env, &hobby, "name").as_deref(),
        Some("Hobby Renamed")
    );
}

#[test]
fn a_restore() {
    let mut env = hooked(Catalog::Demo);
    cached(&mut env);
    let src = env.own_database.clone().expect("a database of its own");
    let file = std::env::temp_dir().join(format!("{}.dump", unique("recovery")));
    let bin = bindir();
    let run = |cmd: &mut Command| {
        let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
        assert!(
            out.status.success(),
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(Command::new(format!("{bin}/pg_dump"))
        .args(["-Fc", "-d", &src, "-f"])
        .arg(&file));
    // After the dump: changes the restored database never heard of.
    let hobby = product_id(&mut env, "Hobby");
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "name=After+The+Dump",
    );
    let pro = product_id(&mut env, "Pro");
    create(
        &env,
        "/prices",
        &format!("product={pro}&currency=usd&unit_amount=99900&recurring[interval]=year"),
    );

    let dst = unique("recovery_restored");
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run(Command::new(format!("{bin}/createdb")).arg(&dst));
        run(Command::new(format!("{bin}/pg_restore"))
            .args(["--single-transaction", "--exit-on-error", "-d", &dst])
            .arg(&file));
        // The same Env, pointed at the restored database (and back, whatever happens).
        let source = std::mem::replace(&mut env.db, connect_to(&dst));
        let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            assert_eq!(
                synced_product(&mut env, &hobby, "name").as_deref(),
                Some("Hobby"),
                "as dumped"
            );
            let problems = run_step(&mut env, "restore", "");
            assert_eq!(problems, Vec::<String>::new());
            assert_all_equal_to_stripe(&mut env);
        }));
        env.db = source;
        if let Err(e) = checked {
            std::panic::resume_unwind(e);
        }
    }));
    let _ = std::fs::remove_file(&file);
    let _ = connect().batch_execute(&format!("drop database if exists {dst} with (force)"));
    if let Err(e) = outcome {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn rotating_the_api_key() {
    let mut env = hooked(Catalog::Demo);
    env.exec("call stripe_fdw.catch_up()");
    // The old key expired before it was replaced: Stripe accepts only the new one now.
    let new_key = "sk_test_rolled_0123456789";
    let rolled = FakeStripe::start(Config {
        catalog: Catalog::Demo,
        api_keys: vec![new_key.to_string()],
        ..Config::default()
    })
    .expect("start fake stripe");
    env.exec(&format!(
        "alter server {{server}} options (set api_url '{}')",
        rolled.base_url()
    ));
    env.fake = rolled;
    let err = env.error("select count(*) from {s}.products");
    assert_eq!(err.code, "28000", "{err:?}");
    assert!(
        !err.all_text().contains(&env.key),
        "the old key is never shown"
    );
    let _ = env.error("call stripe_fdw.catch_up()");
    let failing = env.strings("select name from stripe_fdw.health where status = 'failing'");
    // The failing catch-up is recorded on the server and on the targets it feeds.
    assert_eq!(
        failing,
        vec![
            "public.prices".to_string(),
            "public.products".to_string(),
            env.server.clone()
        ]
    );

    let problems = run_step(&mut env, "rotate-api-key", new_key);
    assert_eq!(problems, Vec::<String>::new());
    assert_in_sync(&mut env);
    let options = env.strings(
        "select array_to_string(umoptions, ',') from pg_user_mappings where srvname = '{server}'",
    );
    assert!(options[0].contains(new_key) && !options[0].contains(&env.key));
}

#[test]
fn the_manual_sync() {
    let mut env = hooked(Catalog::Demo);
    cached(&mut env);
    env.exec("call stripe_fdw.catch_up()");
    // Changes no webhook delivered, and a row someone edited by hand.
    let hobby = product_id(&mut env, "Hobby");
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "description=Missed",
    );
    create(&env, "/products", "name=Also+Missed");
    env.exec("update public.products set name = 'Edited By Hand' where name = 'Pro'");
    assert!(!drift(&mut env, "products").is_empty());

    let problems = run_step(&mut env, "manual-sync", "");
    assert_eq!(problems, Vec::<String>::new());
    assert_all_equal_to_stripe(&mut env);
}

/// Stripe's delivery of event `id` signed at one time with each of `secrets` (one `v1=` each),
/// handed to handle_webhook as the app's route would.
fn deliver_signed(env: &mut Env, id: &str, secrets: &[&str]) -> Result<Value, DbErr> {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs() as i64;
    let (payload, _) = env
        .fake
        .webhook(id, secrets[0], Some(t))
        .expect("the event exists");
    let header = std::iter::once(format!("t={t}"))
        .chain(
            secrets
                .iter()
                .map(|s| format!("v1={}", signature(payload.as_bytes(), s, t))),
        )
        .collect::<Vec<_>>()
        .join(",");
    let server = env.server.clone();
    handle(env, &payload, Some(&header), Some(&server))
}

#[test]
fn rotating_the_endpoint_secret() {
    let (old, new) = ("whsec_old_0123456789", "whsec_new_9876543210");
    let mut env = starter(Catalog::Demo);
    env.exec(&format!(
        "alter user mapping for current_user server {{server}} options (add webhook_secret '{old}');
         call stripe_fdw.sync();"
    ));
    let hobby = product_id(&mut env, "Hobby");
    let change = |env: &mut Env, name: &str| -> String {
        stripe_ok(
            env,
            "POST",
            &format!("/products/{hobby}"),
            &format!("name={name}"),
        );
        event_for(env, "product.updated", &hobby)
    };
    // The secret is rolled: Stripe signs with both until the old one expires.
    let e1 = change(&mut env, "Rolled");
    assert_eq!(
        deliver_signed(&mut env, &e1, &[old, new]).expect("both")["action"],
        "applied"
    );

    let problems = run_step(&mut env, "rotate-endpoint-secret", new);
    assert_eq!(problems, Vec::<String>::new());

    let e2 = change(&mut env, "Both");
    assert_eq!(
        deliver_signed(&mut env, &e2, &[old, new]).expect("both")["action"],
        "applied"
    );
    // The old secret expired: only the new signature comes, and only it verifies.
    let e3 = change(&mut env, "New+Only");
    assert_eq!(
        deliver_signed(&mut env, &e3, &[new]).expect("new")["action"],
        "applied"
    );
    let e4 = change(&mut env, "Old+Only");
    let err = deliver_signed(&mut env, &e4, &[old]).expect_err("the old secret alone");
    assert_eq!(err.code, "28000", "{err:?}");
    assert!(!err.all_text().contains(old) && !err.all_text().contains(new));
    assert_eq!(
        synced_product(&mut env, &hobby, "name").as_deref(),
        Some("New Only")
    );
}

#[test]
fn moving_a_database_to_another_environment() {
    let mut env = starter(Catalog::Demo);
    env.exec("call stripe_fdw.sync()");
    cached(&mut env);
    env.query(
        "select stripe_fdw.create_webhook_endpoint('https://staging.example.com/api/webhooks')",
    );
    let (_, listed) = env.stripe("GET", "/webhook_endpoints", "");
    let staging_endpoint = listed["data"][0]["id"]
        .as_str()
        .expect("the endpoint")
        .to_string();
    // An event of the old environment, to be delivered after the move.
    let staging_only = create(&env, "/products", "name=Staging+Only");
    let old_event = event_for(&env, "product.created", &staging_only);

    // The other environment: another key, another catalog (here another fake Stripe; the real
    // one is at the same address for every account).
    let new_key = "sk_test_production_0123456789";
    let production = FakeStripe::start(Config {
        catalog: generated(5, 2),
        // The test's own calls (env.stripe) use the default key, as a dashboard would.
        api_keys: vec![DEFAULT_API_KEY.to_string(), new_key.to_string()],
        ..Config::default()
    })
    .expect("start fake stripe");
    env.exec(&format!(
        "alter server {{server}} options (set api_url '{}')",
        production.base_url()
    ));
    let staging = std::mem::replace(&mut env.fake, production);

    let problems = run_step(&mut env, "move-environment", new_key);
    assert_eq!(problems, Vec::<String>::new());
    assert_all_equal_to_stripe(&mut env);
    let n: i64 = env.query("select count(*) from public.products")[0].get(0);
    assert_eq!(n, 5, "only the new environment's products");

    // A delivery of the old environment's endpoint is refused; the new one's applies.
    let (payload, header) = staging
        .webhook_to(&old_event, &staging_endpoint)
        .expect("signed");
    let server = env.server.clone();
    let err = handle(&mut env, &payload, Some(&header), Some(&server)).expect_err("refused");
    assert_eq!(err.code, "28000", "{err:?}");
    let production_endpoint = env
        .strings("select id from stripe_fdw.webhook_endpoints() where names_this and serves_this")
        .remove(0);
    let id = create(&env, "/products", "name=Launched");
    let event = event_for(&env, "product.created", &id);
    let (payload, header) = env
        .fake
        .webhook_to(&event, &production_endpoint)
        .expect("signed");
    let applied = handle(&mut env, &payload, Some(&header), Some(&server)).expect("applied");
    assert_eq!(applied["action"], "applied");
    assert_eq!(
        synced_product(&mut env, &id, "name").as_deref(),
        Some("Launched")
    );
}
