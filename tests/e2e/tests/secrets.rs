//! The API key never appears in any message, detail, hint, EXPLAIN output or server log line.

use e2e::*;

const KEY: &str = "sk_test_SECRETcanary7f3e9a";

#[test]
fn the_key_never_leaks_through_any_error_path() {
    let mut env = Env::with(Catalog::Demo, "max_retries '0', request_timeout '1s'", KEY);
    let mut seen: Vec<String> = Vec::new();
    let mut run = |env: &mut Env, rules: Vec<FaultRule>, sql: &str| {
        env.fake.set_faults(FaultConfig {
            latency_ms: 0,
            rules,
        });
        seen.push(env.error(sql).all_text());
        env.fake.clear_faults();
    };
    for kind in [
        FaultKind::Malformed,
        FaultKind::Truncated,
        FaultKind::Drop,
        FaultKind::Hang,
        // A server that echoes the Authorization header into every field of its error.
        FaultKind::EchoKey,
    ] {
        run(&mut env, vec![rule(kind)], "select * from {s}.products");
    }
    for code in [400, 401, 404, 429, 500] {
        run(
            &mut env,
            vec![FaultRule {
                status: Some(code),
                ..rule(FaultKind::Status)
            }],
            "select * from {s}.prices",
        );
    }
    // Stripe itself rejecting the key echoes a masked key in its message.
    env.exec(&format!(
        "alter user mapping for current_user server {{server}} options (set api_key '{KEY}x')"
    ));
    seen.push(env.error("select * from {s}.products").all_text());
    // The key on the server instead, and a bad option value next to it.
    env.exec(&format!(
        "alter server {{server}} options (add api_key '{KEY}')"
    ));
    seen.push(
        env.error("alter server {server} options (set api_key 'has space')")
            .all_text(),
    );
    seen.push(
        env.error("alter server {server} options (add timeout '1')")
            .all_text(),
    );
    let explain = env
        .strings("explain (verbose) select * from {s}.products where id = 'prod_1'")
        .join("\n");
    seen.push(explain);
    for text in &seen {
        assert!(!text.contains("SECRETcanary"), "leaked: {text}");
    }
    if let Ok(path) = std::env::var("STRIPE_FDW_PG_LOG") {
        let log = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(!log.is_empty(), "server log {path} is empty");
        for line in log.lines() {
            assert!(
                !line.contains("SECRETcanary"),
                "server log line leaks the key: {line}"
            );
        }
    }
}

#[test]
fn a_missing_key_says_how_to_add_one() {
    let mut env = Env::new(Catalog::Demo);
    env.exec("drop user mapping for current_user server {server}");
    let e = env.error("select * from {s}.products");
    assert_eq!(e.code, "HV00J", "{e:?}");
    assert!(
        e.hint
            .clone()
            .unwrap_or_default()
            .contains("create user mapping"),
        "{e:?}"
    );
}

#[test]
fn the_key_can_come_from_supabase_vault_by_name_or_id() {
    let mut env = Env::new(Catalog::Demo);
    env.exec("drop user mapping for current_user server {server}");
    env.exec(
        "create user mapping for current_user server {server} options (api_key_name 'stripe')",
    );
    // No vault schema: a clear error, not a query against a missing relation.
    let e = env.error("select * from {s}.products");
    assert!(
        e.message.contains("Vault") && e.message.contains("no \"vault\" schema"),
        "{e:?}"
    );
    // Supabase Vault's interface as stripe_fdw reads it: vault.decrypted_secrets. This is the only
    // test that creates the vault schema, so no other test sees it.
    env.exec(&format!(
        "create schema vault;
         create table vault.decrypted_secrets (id uuid, key_id uuid, name text, decrypted_secret text);
         insert into vault.decrypted_secrets values
           ('7c1e9a4e-6b5d-4c1f-9a43-0d7f1b2f3c4d', null, 'stripe', '{DEFAULT_API_KEY}'),
           ('00000000-0000-4000-8000-000000000001', null, 'wrong', 'sk_test_nope');"
    ));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        assert_eq!(
            env.query("select id from {s}.products").len(),
            4,
            "key found by name"
        );
        env.exec("alter user mapping for current_user server {server} options (drop api_key_name, add api_key_id '7c1e9a4e-6b5d-4c1f-9a43-0d7f1b2f3c4d')");
        assert_eq!(
            env.query("select id from {s}.products").len(),
            4,
            "key found by id"
        );
        env.exec("alter user mapping for current_user server {server} options (set api_key_id '00000000-0000-4000-8000-000000000001')");
        assert_eq!(
            env.error("select id from {s}.products").code,
            "28000",
            "the vault's key is used"
        );
        env.exec("alter user mapping for current_user server {server} options (drop api_key_id, add api_key_name 'absent')");
        let e = env.error("select id from {s}.products");
        assert!(e.message.contains("no secret in Supabase Vault"), "{e:?}");
    }));
    env.exec("drop schema vault cascade");
    if let Err(p) = outcome {
        std::panic::resume_unwind(p);
    }
}
