//! Table tests of webhook signature verification: each case is a header -> accepted or which refusal.

use super::*;

const SECRET: &str = "whsec_test_secret_0123456789";
const PAYLOAD: &[u8] = br#"{"id":"evt_1","object":"event","type":"product.updated"}"#;
const NOW: i64 = 1_800_000_000;

fn good(t: i64) -> String {
    signature(PAYLOAD, SECRET, t)
}

#[test]
fn verify_table() {
    use SignatureError::*;
    let t = NOW - 10;
    let other = signature(PAYLOAD, "whsec_other", t);
    let cases: Vec<(&str, Option<String>, Result<i64, SignatureError>)> = vec![
        ("valid", Some(sign_header(PAYLOAD, SECRET, t)), Ok(t)),
        (
            "valid with spaces and a v0",
            Some(format!(" t={t} , v0=abcd, v1={} ", good(t))),
            Ok(t),
        ),
        (
            "wrong secret",
            Some(format!("t={t},v1={other}")),
            Err(NoMatch),
        ),
        (
            "several v1, one good",
            Some(format!("t={t},v1={other},v1={},v1=00", good(t))),
            Ok(t),
        ),
        (
            "several v1, none good",
            Some(format!("t={t},v1={other},v1=00ff")),
            Err(NoMatch),
        ),
        (
            "signature of another timestamp",
            Some(format!("t={t},v1={}", good(t - 1))),
            Err(NoMatch),
        ),
        (
            "expired",
            Some(sign_header(PAYLOAD, SECRET, NOW - 301)),
            Err(Expired {
                age: 301,
                tolerance: 300,
            }),
        ),
        (
            "exactly at the tolerance",
            Some(sign_header(PAYLOAD, SECRET, NOW - 300)),
            Ok(NOW - 300),
        ),
        (
            "from the future is accepted (as Stripe's libraries do)",
            Some(sign_header(PAYLOAD, SECRET, NOW + 60)),
            Ok(NOW + 60),
        ),
        (
            "expired and wrong secret: NoMatch first",
            Some(format!(
                "t={},v1={}",
                NOW - 1000,
                signature(PAYLOAD, "x", NOW - 1000)
            )),
            Err(NoMatch),
        ),
        ("absent", None, Err(Missing)),
        ("empty", Some(String::new()), Err(Missing)),
        ("blank", Some("   ".into()), Err(Missing)),
        (
            "no t",
            Some(format!("v1={}", good(t))),
            Err(Malformed("it has no t= timestamp")),
        ),
        (
            "no v1",
            Some(format!("t={t},v0={}", good(t))),
            Err(Malformed("it has no v1= signature")),
        ),
        (
            "non-numeric t",
            Some(format!("t=12a,v1={}", good(t))),
            Err(Malformed("t= is not a Unix timestamp")),
        ),
        (
            "negative t",
            Some(format!("t=-5,v1={}", good(t))),
            Err(Malformed("t= is not a Unix timestamp")),
        ),
        (
            "t twice",
            Some(format!("t={t},t={t},v1={}", good(t))),
            Err(Malformed("t= appears more than once")),
        ),
        (
            "odd hex",
            Some(format!("t={t},v1=abc")),
            Err(Malformed("a v1= signature is not hex")),
        ),
        (
            "not hex",
            Some(format!("t={t},v1=zz")),
            Err(Malformed("a v1= signature is not hex")),
        ),
        (
            "not key=value",
            Some(format!("{},t={t}", good(t))),
            Err(Malformed("an element is not key=value")),
        ),
    ];
    for (name, header, want) in cases {
        assert_eq!(
            verify(PAYLOAD, header.as_deref(), SECRET, NOW, 300),
            want,
            "{name}"
        );
    }
}

#[test]
fn a_payload_changed_by_one_byte_matches_nothing() {
    let header = sign_header(PAYLOAD, SECRET, NOW);
    for i in 0..PAYLOAD.len() {
        let mut p = PAYLOAD.to_vec();
        p[i] ^= 1;
        assert_eq!(
            verify(&p, Some(&header), SECRET, NOW, 300),
            Err(SignatureError::NoMatch),
            "byte {i}"
        );
    }
    let mut longer = PAYLOAD.to_vec();
    longer.push(b'\n');
    assert_eq!(
        verify(&longer, Some(&header), SECRET, NOW, 300),
        Err(SignatureError::NoMatch)
    );
}

#[test]
fn tolerance_zero_skips_the_age_check() {
    let header = sign_header(PAYLOAD, SECRET, 1);
    assert_eq!(verify(PAYLOAD, Some(&header), SECRET, NOW, 0), Ok(1));
}

#[test]
fn known_answer_matches_stripe_scheme() {
    // HMAC-SHA256(key="whsec_test", "1700000000.{}"), computed independently with
    // `printf '1700000000.{}' | openssl dgst -sha256 -hmac whsec_test`.
    assert_eq!(
        sign_header(b"{}", "whsec_test", 1_700_000_000),
        format!("t=1700000000,v1={}", KNOWN)
    );
}
const KNOWN: &str = "35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91";

#[test]
fn messages_never_contain_the_secret_or_the_expected_signature() {
    let t = NOW;
    let expected = good(t);
    let errors = [
        verify(PAYLOAD, Some(&format!("t={t},v1=00")), SECRET, NOW, 300),
        verify(
            PAYLOAD,
            Some(&sign_header(PAYLOAD, SECRET, 1)),
            SECRET,
            NOW,
            300,
        ),
        verify(PAYLOAD, Some("t=1"), SECRET, NOW, 300),
        verify(PAYLOAD, None, SECRET, NOW, 300),
    ];
    for e in errors {
        let msg = e.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(!msg.is_empty());
        assert!(!msg.contains(SECRET), "{msg}");
        assert!(!msg.contains(&expected), "{msg}");
    }
    assert_eq!(
        SignatureError::NoMatch.to_string(),
        "no signature matches: the payload was changed, or it was signed with another endpoint secret (check webhook_secret)"
    );
}

#[test]
fn a_keys_prefix_says_its_mode() {
    assert_eq!(key_livemode("sk_live_abc"), Some(true));
    assert_eq!(key_livemode("rk_live_abc"), Some(true));
    assert_eq!(key_livemode("sk_test_abc"), Some(false));
    assert_eq!(key_livemode("rk_test_abc"), Some(false));
    assert_eq!(
        key_livemode("pk_live_abc"),
        None,
        "a publishable key is not an API key"
    );
    assert_eq!(key_livemode("sk_"), None);
    assert_eq!(key_livemode("sk_live"), None);
    assert_eq!(key_livemode("ßk_live_x"), None, "not a char boundary issue");
}

#[test]
fn while_an_endpoint_is_replaced_either_secret_verifies() {
    let t = NOW - 5;
    let both = format!("whsec_new_0001,{SECRET}");
    let by_new = sign_header(PAYLOAD, "whsec_new_0001", t);
    let by_old = sign_header(PAYLOAD, SECRET, t);
    let by_other = sign_header(PAYLOAD, "whsec_other", t);
    assert_eq!(verify(PAYLOAD, Some(&by_new), &both, NOW, 300), Ok(t));
    assert_eq!(verify(PAYLOAD, Some(&by_old), &both, NOW, 300), Ok(t));
    assert_eq!(
        verify(PAYLOAD, Some(&by_other), &both, NOW, 300),
        Err(SignatureError::NoMatch)
    );
    // Only the newest kept: the old endpoint's deliveries no longer verify.
    assert_eq!(
        verify(PAYLOAD, Some(&by_old), "whsec_new_0001", NOW, 300),
        Err(SignatureError::NoMatch)
    );
    // Empty parts are no secret (an empty key would otherwise be an HMAC key like any other).
    assert_eq!(
        verify(PAYLOAD, Some(&sign_header(PAYLOAD, "", t)), ",", NOW, 300),
        Err(SignatureError::NoMatch)
    );
    assert_eq!(
        secrets(" a , ,b,").collect::<Vec<_>>(),
        ["a", "b"],
        "newest first, blanks skipped"
    );
}
