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
fn vault_options_without_vault_are_a_clear_error() {
    let mut env = Env::new(Catalog::Demo);
    env.exec("drop user mapping for current_user server {server}");
    env.exec(
        "create user mapping for current_user server {server} options (api_key_name 'stripe')",
    );
    let e = env.error("select * from {s}.products");
    assert!(e.message.contains("Vault"), "{e:?}");
}
