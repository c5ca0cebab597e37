//! The SQL verifier of Stripe-Signature headers (sql/webhook_sig.sql, pgcrypto in schema
//! `extensions` as on Supabase) gives the Rust verifier's answer (stripe_fdw._verify_webhook: the
//! same acceptance, SQLSTATE and message) on a table of headers; accepts the headers stripe-node
//! makes and refuses them once the payload is changed; says clearly when pgcrypto is missing; and
//! uses pgcrypto's hmac whatever functions and operators a hostile role plants in public or pg_temp.

use e2e::*;
use postgres::Client;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};
use stripe_fdw_core::webhook::signature;

const SECRET: &str = "whsec_sig_0123456789abcdef";
const OTHER: &str = "whsec_sig_other_9876";
const NEW: &str = "whsec_sig_new_0001";

/// A Stripe event as Stripe would send it (the Rust side also checks that the payload is one).
fn event(id: &str) -> String {
    format!(
        r#"{{"id":"{id}","object":"event","type":"product.updated","created":1700000000,"data":{{"object":{{"id":"prod_sig","object":"product","name":"Café ☕ \"Pro\""}}}}}}"#
    )
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn sig(payload: &str, secret: &str, t: i64) -> String {
    signature(payload.as_bytes(), secret, t)
}

/// A database of its own with the extension, its server's user mapping holding SECRET, and
/// pgcrypto in schema `extensions` (checking first that its absence is a clear error).
fn setup() -> Env {
    let mut env = Env::in_own_database(Catalog::Empty);
    let e = env.error("select stripe_fdw._verify_signature('{}', 't=1,v1=00', array['whsec_x'])");
    assert_eq!(e.code, "0A000", "{e:?}");
    assert!(e.message.contains("needs the extension pgcrypto"), "{e:?}");
    assert!(
        e.hint
            .as_deref()
            .unwrap_or("")
            .contains("create extension pgcrypto"),
        "{e:?}"
    );
    env.exec(&format!(
        "create schema extensions;
         create extension pgcrypto with schema extensions;
         alter user mapping for current_user server {{server}} options (add webhook_secret '{SECRET}');"
    ));
    let schema = env.strings("select stripe_fdw._pgcrypto_schema()");
    assert_eq!(schema, ["extensions"]);
    env
}

/// Set the secret(s) the Rust verifier reads (the user mapping's webhook_secret).
fn configure(env: &mut Env, secrets: &str) {
    env.exec(&format!(
        "alter user mapping for current_user server {{server}} options (set webhook_secret '{secrets}')"
    ));
}

/// The Rust verifier: the id of the event it accepted, or its error.
fn rust(env: &mut Env, payload: &str, header: Option<&str>) -> Result<String, DbErr> {
    let server = env.server.clone();
    env.db
        .query_one(
            "select stripe_fdw._verify_webhook(s.oid, $1, $2)->>'id'
               from pg_catalog.pg_foreign_server s where s.srvname = $3",
            &[&payload, &header, &server],
        )
        .map(|r| r.get::<_, String>(0))
        .map_err(|e| DbErr::from(&e))
}

/// The SQL verifier with its default tolerance: the timestamp it accepted, or its error.
fn sql(
    db: &mut Client,
    payload: &str,
    header: Option<&str>,
    secrets: &[&str],
) -> Result<i64, DbErr> {
    db.query_one(
        "select stripe_fdw._verify_signature($1, $2, $3)",
        &[&payload, &header, &secrets],
    )
    .map(|r| r.get::<_, i64>(0))
    .map_err(|e| DbErr::from(&e))
}

/// A message with every run of digits as `#` (an age in seconds moves between two calls).
fn shape(message: &str) -> String {
    let mut out = String::new();
    for c in message.chars() {
        if c.is_ascii_digit() {
            if !out.ends_with('#') {
                out.push('#');
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The age a "too old" message gives.
fn age_in(message: &str) -> Option<i64> {
    let rest = message.split("the signature is ").nth(1)?;
    rest.split(' ').next()?.parse().ok()
}

/// What a case must give: accepted with timestamp t, or refused with a message ending so.
#[derive(Debug, Clone, Copy)]
enum Want {
    Accept(i64),
    Refuse(&'static str),
}

struct Case {
    name: &'static str,
    payload: String,
    header: Option<String>,
    /// The configured value: one secret, or several separated by commas.
    secrets: &'static str,
    want: Want,
}

#[test]
fn the_sql_verifier_answers_as_the_rust_one() {
    use Want::*;
    let mut env = setup();
    let n = now();
    let p = event("evt_sig_1");
    let good = sig(&p, SECRET, n);
    let case = |name, payload: &str, header: Option<String>, secrets, want| Case {
        name,
        payload: payload.to_string(),
        header,
        secrets,
        want,
    };
    let no_match = "no signature matches: the payload was changed, or it was signed with another endpoint secret (check webhook_secret)";
    let cases = vec![
        case("valid", &p, Some(format!("t={n},v1={good}")), SECRET, Accept(n)),
        case(
            "wrong secret",
            &p,
            Some(format!("t={n},v1={}", sig(&p, OTHER, n))),
            SECRET,
            Refuse(no_match),
        ),
        case(
            "tampered payload",
            &event("evt_sig_2"),
            Some(format!("t={n},v1={good}")),
            SECRET,
            Refuse(no_match),
        ),
        case(
            "one byte appended to the payload",
            &format!("{p} "),
            Some(format!("t={n},v1={good}")),
            SECRET,
            Refuse(no_match),
        ),
        case(
            "signature of another timestamp",
            &p,
            Some(format!("t={n},v1={}", sig(&p, SECRET, n - 1))),
            SECRET,
            Refuse(no_match),
        ),
        case(
            "expired",
            &p,
            Some(format!("t={},v1={}", n - 1000, sig(&p, SECRET, n - 1000))),
            SECRET,
            Refuse("more than the tolerance of # s (a replayed delivery, or a wrong clock)"),
        ),
        case(
            "expired and wrong secret: no match first",
            &p,
            Some(format!("t={},v1={}", n - 1000, sig(&p, OTHER, n - 1000))),
            SECRET,
            Refuse(no_match),
        ),
        case(
            "an hour in the future (accepted, as Stripe's libraries do)",
            &p,
            Some(format!("t={},v1={}", n + 3600, sig(&p, SECRET, n + 3600))),
            SECRET,
            Accept(n + 3600),
        ),
        case(
            "missing header",
            &p,
            None,
            SECRET,
            Refuse("the Stripe-Signature header is missing: pass the request's Stripe-Signature header unchanged"),
        ),
        case(
            "empty header",
            &p,
            Some(String::new()),
            SECRET,
            Refuse("the Stripe-Signature header is missing: pass the request's Stripe-Signature header unchanged"),
        ),
        case(
            "blank header (Unicode spaces too)",
            &p,
            Some(" \t\u{a0}\u{3000}".into()),
            SECRET,
            Refuse("the Stripe-Signature header is missing: pass the request's Stripe-Signature header unchanged"),
        ),
        case(
            "malformed: not key=value",
            &p,
            Some(format!("{good},t={n}")),
            SECRET,
            Refuse("the Stripe-Signature header is malformed: an element is not key=value"),
        ),
        case(
            "malformed: no t",
            &p,
            Some(format!("v1={good}")),
            SECRET,
            Refuse("the Stripe-Signature header is malformed: it has no t= timestamp"),
        ),
        case(
            "malformed: t twice",
            &p,
            Some(format!("t={n},t={n},v1={good}")),
            SECRET,
            Refuse("the Stripe-Signature header is malformed: t= appears more than once"),
        ),
        case(
            "malformed: t not a number",
            &p,
            Some(format!("t=12a,v1={good}")),
            SECRET,
            Refuse("the Stripe-Signature header is malformed: t= is not a Unix timestamp"),
        ),
        case(
            "malformed: negative t",
            &p,
            Some(format!("t=-5,v1={good}")),
            SECRET,
            Refuse("the Stripe-Signature header is malformed: t= is not a Unix timestamp"),
        ),
        case(
            "malformed: t beyond 64 bits",
            &p,
            Some(format!("t=9223372036854775808,v1={good}")),
            SECRET,
            Refuse("the Stripe-Signature header is malformed: t= is not a Unix timestamp"),
        ),
        case(
            "malformed: odd hex",
            &p,
            Some(format!("t={n},v1=abc")),
            SECRET,
            Refuse("the Stripe-Signature header is malformed: a v1= signature is not hex"),
        ),
        case(
            "malformed: not hex",
            &p,
            Some(format!("t={n},v1=zz")),
            SECRET,
            Refuse("the Stripe-Signature header is malformed: a v1= signature is not hex"),
        ),
        case(
            "malformed: a space inside the hex",
            &p,
            Some(format!("t={n},v1={} {}", &good[..32], &good[32..])),
            SECRET,
            Refuse("the Stripe-Signature header is malformed: a v1= signature is not hex"),
        ),
        case(
            "malformed: a bad element before a good one",
            &p,
            Some(format!("t=x,v1=zz,v1={good}")),
            SECRET,
            Refuse("the Stripe-Signature header is malformed: t= is not a Unix timestamp"),
        ),
        case(
            "no v1 (only v0)",
            &p,
            Some(format!("t={n},v0={good}")),
            SECRET,
            Refuse("the Stripe-Signature header is malformed: it has no v1= signature"),
        ),
        case(
            "V1 in capitals is another scheme",
            &p,
            Some(format!("t={n},V1={good}")),
            SECRET,
            Refuse("the Stripe-Signature header is malformed: it has no v1= signature"),
        ),
        case(
            "an empty v1 matches nothing",
            &p,
            Some(format!("t={n},v1=")),
            SECRET,
            Refuse(no_match),
        ),
        case(
            "two v1, the second right",
            &p,
            Some(format!("t={n},v1={},v1={good}", sig(&p, OTHER, n))),
            SECRET,
            Accept(n),
        ),
        case(
            "two v1, none right",
            &p,
            Some(format!("t={n},v1={},v1=00ff", sig(&p, OTHER, n))),
            SECRET,
            Refuse(no_match),
        ),
        case(
            "v0 and unknown schemes ignored",
            &p,
            Some(format!("t={n},v0=zz,v9=what,v1={good},x=")),
            SECRET,
            Accept(n),
        ),
        case(
            "rotation: signed with the new secret",
            &p,
            Some(format!("t={n},v1={}", sig(&p, NEW, n))),
            "whsec_sig_new_0001,whsec_sig_0123456789abcdef",
            Accept(n),
        ),
        case(
            "rotation: signed with the old secret",
            &p,
            Some(format!("t={n},v1={good}")),
            "whsec_sig_new_0001,whsec_sig_0123456789abcdef",
            Accept(n),
        ),
        case(
            "rotation: signed with neither",
            &p,
            Some(format!("t={n},v1={}", sig(&p, OTHER, n))),
            "whsec_sig_new_0001,whsec_sig_0123456789abcdef",
            Refuse(no_match),
        ),
        case(
            "rotation: empty parts between the secrets",
            &p,
            Some(format!("t={n},v1={good}")),
            ",whsec_sig_new_0001,,whsec_sig_0123456789abcdef,",
            Accept(n),
        ),
        case(
            "uppercase hex",
            &p,
            Some(format!("t={n},v1={}", good.to_uppercase())),
            SECRET,
            Accept(n),
        ),
        case(
            "whitespace around elements, keys and values",
            &p,
            Some(format!(" t = {n} ,\t v1 =\n{good} , ")),
            SECRET,
            Accept(n),
        ),
        case(
            "Unicode whitespace around elements",
            &p,
            Some(format!("\u{a0}t={n}\u{2003},\u{3000}v1={good}\u{85}")),
            SECRET,
            Accept(n),
        ),
        case(
            "empty elements",
            &p,
            Some(format!(",,t={n},,v1={good},")),
            SECRET,
            Accept(n),
        ),
        case(
            "leading zeros in t sign the number",
            &p,
            Some(format!("t=000{n},v1={good}")),
            SECRET,
            Accept(n),
        ),
    ];

    for c in &cases {
        configure(&mut env, c.secrets);
        let secrets: Vec<&str> = vec![c.secrets];
        let by_rust = rust(&mut env, &c.payload, c.header.as_deref());
        let by_sql = sql(&mut env.db, &c.payload, c.header.as_deref(), &secrets);
        let name = c.name;
        match (c.want, &by_rust, &by_sql) {
            (Accept(t), Ok(id), Ok(sql_t)) => {
                assert_eq!(*sql_t, t, "{name}: the SQL verifier returns the header's t");
                assert!(id.starts_with("evt_sig_"), "{name}: {id}");
            }
            (Refuse(end), Err(r), Err(s)) => {
                assert_eq!(
                    (r.code.as_str(), s.code.as_str()),
                    ("28000", "28000"),
                    "{name}: {r:?} / {s:?}"
                );
                assert_eq!(
                    shape(&r.message),
                    shape(&s.message),
                    "{name}: the same message"
                );
                assert!(
                    shape(&s.message).ends_with(&shape(end))
                        && s.message.starts_with("stripe_fdw: webhook refused: "),
                    "{name}: {s:?}"
                );
                if r.message.contains("missing") || r.message.contains("malformed") {
                    assert_eq!(r.hint, s.hint, "{name}: the same hint");
                }
                if let (Some(ra), Some(sa)) = (age_in(&r.message), age_in(&s.message)) {
                    assert!(
                        (sa - ra).abs() <= 2 && (sa - 1000).abs() <= 5,
                        "{name}: ages {ra} / {sa}"
                    );
                }
                for text in [r.all_text(), s.all_text()] {
                    for secret in [SECRET, OTHER, NEW, good.as_str()] {
                        assert!(!text.contains(secret), "{name}: a secret in {text}");
                    }
                }
            }
            _ => panic!(
                "{name}: wanted {:?}; Rust: {by_rust:?}; SQL: {by_sql:?}",
                c.want
            ),
        }
    }

    // Several secrets may also come as array elements (a list read from Vault).
    let header = format!("t={n},v1={}", sig(&p, NEW, n));
    let both = sql(&mut env.db, &p, Some(&header), &[SECRET, NEW]);
    assert_eq!(both.ok(), Some(n), "the second element verifies");
}

#[test]
fn tolerance_and_secrets_of_the_sql_verifier() {
    let mut env = setup();
    let n = now();
    let p = event("evt_sig_tol");
    let old = format!("t={},v1={}", n - 400, sig(&p, SECRET, n - 400));
    let call = |env: &mut Env, tolerance: Option<i32>| {
        env.db
            .query_one(
                "select stripe_fdw._verify_signature($1, $2, array[$3], $4)",
                &[&p, &old, &SECRET, &tolerance],
            )
            .map(|r| r.get::<_, i64>(0))
            .map_err(|e| DbErr::from(&e))
    };
    let refused = call(&mut env, Some(300)).expect_err("400 s old, tolerance 300");
    assert_eq!(refused.code, "28000");
    assert!(
        refused.message.contains("more than the tolerance of 300 s"),
        "{refused:?}"
    );
    assert!(call(&mut env, None).is_err(), "null is the default, 300");
    assert_eq!(call(&mut env, Some(500)).ok(), Some(n - 400));
    assert_eq!(
        call(&mut env, Some(0)).ok(),
        Some(n - 400),
        "0 skips the age check"
    );

    // Spaces around secrets are trimmed (the extension's options refuse them outright).
    let fresh = format!("t={n},v1={}", sig(&p, SECRET, n));
    let spaced = format!(" , {NEW} ,\t{SECRET} , ");
    assert_eq!(sql(&mut env.db, &p, Some(&fresh), &[&spaced]).ok(), Some(n));

    // No secret at all is a configuration error, not a refusal (and not a match of an empty key).
    let empty_key = format!("t={n},v1={}", sig(&p, "", n));
    for secrets in [
        "'{}'::text[]",
        "array[' , ']",
        "array[null]::text[]",
        "null",
    ] {
        let e = env.error(&format!(
            "select stripe_fdw._verify_signature($p${p}$p$, '{empty_key}', {secrets})"
        ));
        assert_eq!(e.code, "HV00J", "{secrets}: {e:?}");
        assert!(e.message.contains("no webhook secret"), "{e:?}");
    }
}

/// Headers stripe-node makes (tests/hosted/sign.mjs) for `cases` of (payload, secret, timestamp).
fn stripe_node_headers(cases: &serde_json::Value) -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../hosted");
    assert!(
        dir.join("node_modules/stripe/package.json").exists(),
        "stripe-node is not installed: run `npm ci` (or `npm install`) in {}",
        dir.display()
    );
    let mut child = Command::new("node")
        .arg("sign.mjs")
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs (Node.js is needed for the stripe-node reference)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(cases.to_string().as_bytes())
        .expect("write the cases");
    let out = child.wait_with_output().expect("node ends");
    assert!(
        out.status.success(),
        "sign.mjs: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("a JSON array of headers")
}

#[test]
fn headers_made_by_stripe_node_verify_and_a_changed_payload_does_not() {
    let mut env = setup();
    let n = now();
    let payloads = [
        event("evt_node_1"),
        event("evt_node_2").replace(',', ",\n  "),
        format!("{}\n", event("evt_node_3")),
        r#"{"id":"evt_node_4","object":"event","type":"price.created","data":{"object":{"nickname":"日本語 ü ✓ 😀","metadata":{"a":"b=c,d"}}}}"#.to_string(),
    ];
    let secrets = [SECRET, NEW];
    let mut cases = Vec::new();
    for (i, payload) in payloads.iter().enumerate() {
        for secret in secrets {
            cases.push((
                payload.clone(),
                secret,
                n - i64::try_from(i).unwrap_or(0) * 7,
            ));
        }
    }
    let json = serde_json::Value::Array(
        cases
            .iter()
            .map(|(payload, secret, t)| {
                serde_json::json!({"payload": payload, "secret": secret, "timestamp": t})
            })
            .collect(),
    );
    let headers = stripe_node_headers(&json);
    assert_eq!(headers.len(), cases.len());
    for ((payload, secret, t), header) in cases.iter().zip(&headers) {
        assert!(header.starts_with(&format!("t={t},v1=")), "{header}");
        // Accepted with its secret, alone or beside the other (rotation).
        assert_eq!(
            sql(&mut env.db, payload, Some(header), &[secret]).ok(),
            Some(*t),
            "{header}"
        );
        let rotation = "whsec_sig_new_0001,whsec_sig_0123456789abcdef";
        assert_eq!(
            sql(&mut env.db, payload, Some(header), &[rotation]).ok(),
            Some(*t)
        );
        // The Rust verifier agrees.
        configure(&mut env, secret);
        assert!(rust(&mut env, payload, Some(header)).is_ok(), "{header}");
        // Refused once the payload is changed, or with another secret.
        let tampered = payload.replacen("evt_node", "evt_nodf", 1);
        for (body, with) in [
            (tampered.as_str(), *secret),
            (&format!("{payload} ")[..], *secret),
            (payload.as_str(), OTHER),
        ] {
            let e = sql(&mut env.db, body, Some(header), &[with]).expect_err("refused");
            assert_eq!(e.code, "28000", "{e:?}");
            assert!(e.message.contains("no signature matches"), "{e:?}");
        }
    }
    // stripe-node's v0 scheme alone is no v1 signature.
    let v0 = stripe_node_headers(&serde_json::json!([
        {"payload": payloads[0], "secret": SECRET, "timestamp": n, "scheme": "v0"}
    ]));
    let e = sql(&mut env.db, &payloads[0], Some(&v0[0]), &[SECRET]).expect_err("no v1");
    assert!(e.message.ends_with("it has no v1= signature"), "{e:?}");
}

/// Drops the attacker role (and what it owns in the test's database) however the test ends.
struct Role {
    name: String,
    database: String,
}

impl Drop for Role {
    fn drop(&mut self) {
        let (mut db, _) = connect_db(Some(&self.database));
        let _ = db.batch_execute(&format!("drop owned by {} cascade", self.name));
        let _ = connect().batch_execute(&format!("drop role if exists {}", self.name));
    }
}

/// What a hostile role plants where search_path could find it: hmac, gen_random_bytes and `=` on
/// bytea that would make every signature match (each counts its calls in public.hostile_calls).
const PLANTED: &str = "
create function {schema}.hmac(bytea, bytea, text) returns bytea language plpgsql
  as $f$ begin perform pg_catalog.nextval('public.hostile_calls'); return '\\x00'::bytea; end $f$;
create function {schema}.hmac(text, text, text) returns bytea language plpgsql
  as $f$ begin perform pg_catalog.nextval('public.hostile_calls'); return '\\x00'::bytea; end $f$;
create function {schema}.gen_random_bytes(int) returns bytea language plpgsql
  as $f$ begin perform pg_catalog.nextval('public.hostile_calls'); return '\\x00'::bytea; end $f$;
create function {schema}.always(bytea, bytea) returns bool language plpgsql
  as $f$ begin perform pg_catalog.nextval('public.hostile_calls'); return true; end $f$;
";

#[test]
fn planted_hmac_functions_are_never_called() {
    let mut env = setup();
    let database = env.own_database.clone().expect("a database of its own");
    let attacker = format!("sig_attacker_{}", unique_tag());
    env.exec(&format!(
        "create role {attacker} login;
         grant create, usage on schema public to {attacker};
         grant usage on schema extensions, stripe_fdw to {attacker};"
    ));
    let _role = Role {
        name: attacker.clone(),
        database: database.clone(),
    };
    let n = now();
    let p = event("evt_sig_hostile");
    let good = format!("t={n},v1={}", sig(&p, SECRET, n));
    // What the planted hmac would make every signature: 0x00.
    let forged = [
        format!("t={n},v1=00"),
        format!("t={n},v1={}", "00".repeat(32)),
    ];

    let (mut evil, evil_notices) = connect_to(&attacker, &database);
    evil.batch_execute(&format!(
        "create sequence public.hostile_calls;
         grant usage, select, update on sequence public.hostile_calls to public;
         {}
         create operator public.= (leftarg = bytea, rightarg = bytea, function = public.always);
         {}
         create operator pg_temp.= (leftarg = bytea, rightarg = bytea, function = pg_temp.always);
         set search_path = pg_temp, public, extensions, pg_catalog;",
        PLANTED.replace("{schema}", "public"),
        PLANTED.replace("{schema}", "pg_temp"),
    ))
    .unwrap_or_else(|e| panic!("plant: {}", describe(&e)));
    // The hostile functions work where search_path finds them.
    let planted: Vec<u8> = evil
        .query_one("select hmac('\\x01'::bytea, '\\x02'::bytea, 'sha256')", &[])
        .map(|r| r.get(0))
        .expect("the attacker's hmac");
    assert_eq!(planted, [0u8]);
    evil.batch_execute("select pg_catalog.setval('public.hostile_calls', 1, false)")
        .expect("reset the count");

    // In the attacker's own session (its pg_temp and public first), and in the owner's with public
    // first: forged headers are refused, the genuine one accepted.
    env.exec("set search_path = public, pg_temp, pg_catalog");
    for db in [&mut evil, &mut env.db] {
        for header in &forged {
            let e = sql(db, &p, Some(header), &[SECRET]).expect_err("a forged header");
            assert_eq!(e.code, "28000", "{e:?}");
            assert!(e.message.contains("no signature matches"), "{e:?}");
        }
        assert_eq!(sql(db, &p, Some(&good), &[SECRET]).ok(), Some(n));
    }
    let called: bool = env.query("select is_called from public.hostile_calls")[0].get(0);
    assert!(!called, "a planted function ran");
    assert!(evil_notices.lock().map(|v| v.is_empty()).unwrap_or(false));
}
