//! API-key authentication: Bearer or HTTP basic (key as user name), Stripe's 401 bodies.

use base64::Engine;

use crate::errors::{ApiError, ApiResult};

/// The key presented in an `Authorization` header value, if any.
pub fn presented_key(header: Option<&str>) -> Option<String> {
    let h = header?.trim();
    let (scheme, rest) = h.split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.to_string()).filter(|k| !k.is_empty());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()?;
        let text = String::from_utf8(raw).ok()?;
        let user = text.split_once(':').map_or(text.as_str(), |(u, _)| u);
        return Some(user.to_string()).filter(|k| !k.is_empty());
    }
    None
}

/// Mask like Stripe: keep the `sk_test_`-style prefix and the last 4 characters.
pub fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    let prefix_len = {
        let mut underscores = 0;
        let mut end = 0;
        for (i, c) in chars.iter().enumerate().take(10) {
            if *c == '_' {
                underscores += 1;
                end = i + 1;
                if underscores == 2 {
                    break;
                }
            }
        }
        end
    };
    if chars.len() <= prefix_len + 4 {
        return "*".repeat(chars.len());
    }
    let stars = chars.len() - prefix_len - 4;
    let prefix: String = chars[..prefix_len].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{prefix}{}{tail}", "*".repeat(stars))
}

pub fn check(header: Option<&str>, keys: &[String]) -> ApiResult<()> {
    match presented_key(header) {
        None => Err(ApiError::no_api_key()),
        Some(k) if keys.iter().any(|x| x == &k) => Ok(()),
        Some(k) => Err(ApiError::invalid_api_key(&mask(&k))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_like_stripe() {
        assert_eq!(mask("sk_test_abcdefgh1234"), "sk_test_********1234");
        assert_eq!(mask("rk_live_xyz98765"), "rk_live_****8765");
    }

    #[test]
    fn parses_headers() {
        assert_eq!(presented_key(Some("Bearer sk_x")).as_deref(), Some("sk_x"));
        // "sk_x:" base64
        assert_eq!(
            presented_key(Some("Basic c2tfeDo=")).as_deref(),
            Some("sk_x")
        );
        assert_eq!(presented_key(Some("Bearer ")), None);
        assert_eq!(presented_key(None), None);
    }
}
