//! Stripe webhook signatures: verify a `Stripe-Signature` header (HMAC-SHA256, constant time) and make one.
//!
//! The header is `t=<unix>,v1=<hex>[,v1=<hex>...]`; other schemes (`v0`, ...) are ignored. Each `v1`
//! is the hex HMAC-SHA256 of `"<t>.<raw payload>"` keyed with the endpoint secret (`whsec_...`).
//! Several `v1` appear while a secret is being rolled: one match is enough. The configured secret may
//! itself be several, comma-separated (newest first), while one endpoint replaces another and both
//! deliver: a match with any of them is enough. As in Stripe's own
//! libraries, the signature is checked first and the timestamp second, so `Expired` always means a
//! genuine but old delivery. No error ever contains the secret or the expected signature.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Stripe's default tolerance between the signature's timestamp and now, in seconds.
pub const DEFAULT_TOLERANCE: i64 = 300;

/// Why a webhook was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No header, or an empty one.
    #[error("the Stripe-Signature header is missing: pass the request's Stripe-Signature header unchanged")]
    Missing,
    /// The header is not `t=<unix>,v1=<hex>...`; says what is wrong, never echoes the header.
    #[error("the Stripe-Signature header is malformed: {0}")]
    Malformed(&'static str),
    /// Well-formed, but no `v1` is the payload's signature with this secret.
    #[error("no signature matches: the payload was changed, or it was signed with another endpoint secret (check webhook_secret)")]
    NoMatch,
    /// Genuine, but signed more than `tolerance` seconds ago (a replay, or a clock far off).
    #[error("the signature is {age} s old, more than the tolerance of {tolerance} s (a replayed delivery, or a wrong clock)")]
    Expired { age: i64, tolerance: i64 },
}

/// The hex HMAC-SHA256 of `"<t>.<payload>"` with `secret`: what a `v1=` carries.
pub fn signature(payload: &[u8], secret: &str, t: i64) -> String {
    hex::encode(mac(payload, secret, t))
}

/// A `Stripe-Signature` header value for `payload` signed at `t`, as Stripe sends it.
pub fn sign_header(payload: &[u8], secret: &str, t: i64) -> String {
    format!("t={t},v1={}", signature(payload, secret, t))
}

fn mac(payload: &[u8], secret: &str, t: i64) -> Vec<u8> {
    // HMAC takes a key of any length, so this never fails; an empty Vec would simply match nothing.
    let Ok(mut m) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return Vec::new();
    };
    m.update(t.to_string().as_bytes());
    m.update(b".");
    m.update(payload);
    m.finalize().into_bytes().to_vec()
}

/// The parsed header: the timestamp and every `v1` signature (decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Parsed {
    t: i64,
    v1: Vec<Vec<u8>>,
}

fn parse(header: &str) -> Result<Parsed, SignatureError> {
    use SignatureError::Malformed;
    let mut t: Option<i64> = None;
    let mut v1 = Vec::new();
    for item in header.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let Some((key, value)) = item.split_once('=') else {
            return Err(Malformed("an element is not key=value"));
        };
        match key.trim() {
            "t" => {
                if t.is_some() {
                    return Err(Malformed("t= appears more than once"));
                }
                let value = value.trim();
                if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(Malformed("t= is not a Unix timestamp"));
                }
                t = Some(
                    value
                        .parse::<i64>()
                        .map_err(|_| Malformed("t= is not a Unix timestamp"))?,
                );
            }
            "v1" => v1.push(
                hex::decode(value.trim()).map_err(|_| Malformed("a v1= signature is not hex"))?,
            ),
            _ => {} // v0 and future schemes
        }
    }
    let Some(t) = t else {
        return Err(Malformed("it has no t= timestamp"));
    };
    if v1.is_empty() {
        return Err(Malformed("it has no v1= signature"));
    }
    Ok(Parsed { t, v1 })
}

/// The secrets a configured value holds: one `whsec_...`, or several separated by commas (newest
/// first); empty parts are skipped.
pub fn secrets(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// Verify `header` for the raw `payload` with the endpoint `secret` (one, or several separated by
/// commas: see [`secrets`]) at time `now` (Unix seconds).
///
/// Accepts when any `v1` matches any secret (compared in constant time) and `t >= now - tolerance`; a
/// `tolerance <= 0` skips the age check, as Stripe's libraries do. Returns the header's `t`.
pub fn verify(
    payload: &[u8],
    header: Option<&str>,
    secret: &str,
    now: i64,
    tolerance: i64,
) -> Result<i64, SignatureError> {
    let header = match header {
        Some(h) if !h.trim().is_empty() => h,
        _ => return Err(SignatureError::Missing),
    };
    let parsed = parse(header)?;
    let mut matched = subtle::Choice::from(0u8);
    for one in secrets(secret) {
        let expected = mac(payload, one, parsed.t);
        if expected.is_empty() {
            continue;
        }
        for sig in &parsed.v1 {
            // ct_eq is false for slices of different lengths; every candidate is compared.
            matched |= expected.as_slice().ct_eq(sig.as_slice());
        }
    }
    if !bool::from(matched) {
        return Err(SignatureError::NoMatch);
    }
    let age = now.saturating_sub(parsed.t);
    if tolerance > 0 && age > tolerance {
        return Err(SignatureError::Expired { age, tolerance });
    }
    Ok(parsed.t)
}

/// The mode of the account an API key belongs to: `Some(true)` for a live key (`sk_live_`,
/// `rk_live_`), `Some(false)` for a test key (`sk_test_`, `rk_test_`), None when the prefix says
/// neither (a key of another form: no check is made).
pub fn key_livemode(key: &str) -> Option<bool> {
    match key.get(..8) {
        Some("sk_live_") | Some("rk_live_") => Some(true),
        Some("sk_test_") | Some("rk_test_") => Some(false),
        _ => None,
    }
}

#[cfg(test)]
#[path = "webhook_tests.rs"]
mod tests;
