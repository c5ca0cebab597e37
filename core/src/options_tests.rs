//! Tests of option parsing and validation: every bad value says what was expected.

use super::*;

fn opts(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    opts(pairs).into_iter().collect()
}

#[test]
fn defaults() {
    let s = ServerOptions::parse(&map(&[("api_key", "sk_test_x")])).expect("valid");
    assert_eq!(s.api_url.as_str(), "https://api.stripe.com/v1");
    assert_eq!(s.connect_timeout, Duration::from_secs(10));
    assert_eq!(s.request_timeout, Duration::from_secs(30));
    assert_eq!(s.max_retries, 3);
    assert_eq!(s.max_response_size, 16 << 20);
    assert_eq!(s.max_concurrency, 4);
    assert_eq!(s.secret.api_key.as_deref(), Some("sk_test_x"));
    assert_eq!(
        s.api_version.as_deref(),
        Some("2026-10-28.endive"),
        "the columns' API version"
    );
    let acct = ServerOptions::parse(&map(&[("api_version", "account")])).expect("valid");
    assert_eq!(
        acct.api_version, None,
        "'account': the account's default version"
    );
}

#[test]
fn values_are_parsed() {
    let s = ServerOptions::parse(&map(&[
        ("api_url", "http://127.0.0.1:12111/v1/"),
        ("connect_timeout", "500ms"),
        ("request_timeout", "2"),
        ("retry_deadline", "2min"),
        ("max_retries", "0"),
        ("max_response_size", "2MB"),
        ("max_concurrency", " 16 "),
        ("api_version", "2026-10-28.endive"),
        ("account", "acct_123"),
    ]))
    .expect("valid");
    assert_eq!(s.api_url.as_str(), "http://127.0.0.1:12111/v1");
    assert_eq!(s.connect_timeout, Duration::from_millis(500));
    assert_eq!(s.request_timeout, Duration::from_secs(2));
    assert_eq!(s.retry_deadline, Duration::from_secs(120));
    assert_eq!(s.max_retries, 0);
    assert_eq!(s.max_response_size, 2 << 20);
    assert_eq!(s.max_concurrency, 16);
    assert_eq!(s.account.as_deref(), Some("acct_123"));
}

#[test]
fn bad_values_say_what_is_expected() {
    let cases = [
        ("request_timeout", "abc", "a duration"),
        ("connect_timeout", "0", "from 1ms"),
        ("api_url", "ftp://x", "http:// or https://"),
        ("api_url", "not a url", "http:// or https://"),
        ("max_retries", "-1", "from 0 to 10"),
        ("max_retries", "11", "from 0 to 10"),
        ("max_response_size", "12", "from 1kB"),
        (
            "max_concurrency",
            "0",
            "from 1 (one request at a time) to 16",
        ),
        (
            "max_concurrency",
            "17",
            "from 1 (one request at a time) to 16",
        ),
        ("max_concurrency", "four", "a whole number"),
        ("account", "bob", "acct_"),
        ("account_id", "acct-1", "acct_"),
        ("api_version", "", "API version"),
    ];
    for (name, value, expected) in cases {
        let err = validate(Scope::Server, &opts(&[(name, value)])).expect_err(name);
        match &err {
            OptionError::BadValue { name: n, .. } => assert_eq!(n, name),
            other => panic!("{name}: {other:?}"),
        }
        assert!(err.hint().contains(expected), "{name}: {}", err.hint());
        assert!(
            err.to_string().contains(value),
            "{name} shows the bad value"
        );
    }
}

#[test]
fn a_bad_key_value_is_never_echoed() {
    let err =
        validate(Scope::Server, &opts(&[("api_key", "sk_live_has space")])).expect_err("space");
    assert!(!err.to_string().contains("sk_live"), "{err}");
    assert!(!err.hint().contains("sk_live"));
}

#[test]
fn unknown_options_list_the_valid_ones() {
    let err = validate(Scope::Server, &opts(&[("timeout", "5")])).expect_err("unknown");
    assert_eq!(
        err.to_string(),
        "invalid option \"timeout\" for a stripe_fdw server"
    );
    assert!(err.hint().contains("request_timeout"));
    let err = validate(Scope::UserMapping, &opts(&[("api_url", "x")])).expect_err("unknown");
    assert_eq!(
        err.hint(),
        "Valid options in this context are: api_key, api_key_id, api_key_name, webhook_secret, webhook_secret_id, webhook_secret_name."
    );
    let err = validate(Scope::Wrapper, &opts(&[("x", "1")])).expect_err("unknown");
    assert!(err.hint().contains("takes no options"));
}

#[test]
fn key_sources_are_exclusive() {
    assert!(validate(
        Scope::UserMapping,
        &opts(&[("api_key", "a"), ("api_key_name", "b")])
    )
    .is_err());
    assert!(validate(Scope::UserMapping, &opts(&[("api_key_id", "b")])).is_ok());
}

#[test]
fn tables_need_a_known_object() {
    assert_eq!(
        validate(Scope::Table, &opts(&[])),
        Err(OptionError::Missing {
            name: "object",
            scope: Scope::Table
        })
    );
    let err = validate(Scope::Table, &opts(&[("object", "plans")])).expect_err("unknown");
    assert_eq!(
        err,
        OptionError::UnknownObject {
            value: "plans".into()
        }
    );
    assert!(err
        .hint()
        .starts_with("Known objects are: accounts, balance, balance_transactions, charges, checkout/sessions, customers,"));
    let err = validate(Scope::Table, &opts(&[("object", "checkout_sessions")])).expect_err("path");
    assert_eq!(err.hint(), "Use object 'checkout/sessions'.");
    assert!(validate(Scope::Table, &opts(&[("object", "billing/meters")])).is_ok());
    assert!(validate(
        Scope::Table,
        &opts(&[("object", "prices"), ("estimated_rows", "-3")])
    )
    .is_err());
    assert!(validate(
        Scope::Table,
        &opts(&[("object", "prices"), ("rowid_column", "id")])
    )
    .is_ok());
    let t =
        TableOptions::parse(&map(&[("object", "products"), ("estimated_rows", "40")])).expect("ok");
    assert_eq!((t.object.name, t.estimated_rows), ("products", Some(40)));
}

#[test]
fn webhook_secret_and_tolerance() {
    let s = ServerOptions::parse(&map(&[])).expect("valid");
    assert!(!s.webhook_secret.is_set());
    assert_eq!(s.webhook_tolerance, Duration::from_secs(300));
    let s = ServerOptions::parse(&map(&[
        ("webhook_secret_name", "stripe_webhook"),
        ("webhook_tolerance", "10min"),
    ]))
    .expect("valid");
    assert_eq!(
        s.webhook_secret.secret_name.as_deref(),
        Some("stripe_webhook")
    );
    assert_eq!(s.webhook_tolerance, Duration::from_secs(600));
    for bad_value in ["0", "0s", "500ms", "2days", "soon"] {
        let e = validate(Scope::Server, &opts(&[("webhook_tolerance", bad_value)]))
            .expect_err(bad_value);
        assert!(e.hint().contains("from 1s to 1 day"), "{bad_value}: {e}");
    }
    validate(Scope::UserMapping, &opts(&[("webhook_secret", "whsec_x")])).expect("valid");
}

#[test]
fn webhook_secret_sources_are_exclusive_and_hidden() {
    let e = validate(
        Scope::UserMapping,
        &opts(&[("webhook_secret", "whsec_x"), ("webhook_secret_id", "a")]),
    )
    .expect_err("two sources");
    assert!(e.to_string().contains("exclusive"), "{e}");
    let e = validate(
        Scope::Server,
        &opts(&[("webhook_secret", "whsec_ with space")]),
    )
    .expect_err("spaces");
    assert!(!e.to_string().contains("whsec_"), "{e}");
    assert!(e.to_string().contains("hidden"), "{e}");
    let s = ServerOptions::parse(&map(&[("webhook_secret", "whsec_abc")])).expect("valid");
    assert!(!format!("{s:?}").contains("whsec_abc"));
}

#[test]
fn the_known_account_is_the_connected_one_else_the_keys_own() {
    let parse = |o: &[(&str, &str)]| ServerOptions::parse(&map(o));
    let none = parse(&[]).expect("valid");
    assert_eq!(none.known_account(), None);
    let own = parse(&[("account_id", "acct_own")]).expect("valid");
    assert_eq!(own.known_account(), Some("acct_own"));
    let connected = parse(&[("account", "acct_c")]).expect("valid");
    assert_eq!(connected.known_account(), Some("acct_c"));
    let both = parse(&[("account", "acct_c"), ("account_id", "acct_c")]).expect("valid");
    assert_eq!(both.known_account(), Some("acct_c"));
    let err = parse(&[("account", "acct_c"), ("account_id", "acct_own")]).expect_err("differ");
    assert!(err.hint().contains("same account"), "{}", err.hint());
}
