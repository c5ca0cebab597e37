//! Fault injection: latency plus rules (status, drop, malformed, truncated, hang, oversize, echo_key).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer `status` with a Stripe error body.
    Status,
    /// Close the connection without a response.
    Drop,
    /// 200 with a body that is not JSON.
    Malformed,
    /// 200 declaring the full Content-Length, then closing half-way through the body.
    Truncated,
    /// Never answer (until the client goes away).
    Hang,
    /// 200 with a valid but very large list body.
    Oversize,
    /// A server that leaks what it was sent: the request's `Authorization` header in every field of
    /// a Stripe error body (`type`, `code`, `param`, `message`, `doc_url`) and in `Request-Id`; with
    /// `status` 200, in the `object` of a list body instead.
    EchoKey,
}

impl FaultKind {
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Status => "status",
            FaultKind::Drop => "drop",
            FaultKind::Malformed => "malformed",
            FaultKind::Truncated => "truncated",
            FaultKind::Hang => "hang",
            FaultKind::Oversize => "oversize",
            FaultKind::EchoKey => "echo_key",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    pub kind: FaultKind,
    /// HTTP status for `status` rules (default 500).
    #[serde(default)]
    pub status: Option<u16>,
    /// `Stripe-Should-Retry` header value; absent when null.
    #[serde(default)]
    pub should_retry: Option<bool>,
    /// `Retry-After` header, seconds.
    #[serde(default)]
    pub retry_after: Option<u64>,
    /// Matching requests to let through before firing (counted from installation).
    #[serde(default)]
    pub after: u64,
    /// How many times to fire; null = forever.
    #[serde(default)]
    pub count: Option<u64>,
    /// Only requests whose path starts with this.
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// Only requests with this HTTP method (e.g. "GET").
    #[serde(default)]
    pub method: Option<String>,
    /// Body size for `oversize` (default 20 MiB).
    #[serde(default)]
    pub size_bytes: Option<usize>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    /// Delay applied to every `/v1` request.
    #[serde(default)]
    pub latency_ms: u64,
    #[serde(default)]
    pub rules: Vec<FaultRule>,
}

/// Installed config plus per-rule counters.
#[derive(Debug, Default)]
pub struct Faults {
    config: FaultConfig,
    seen: Vec<u64>,
    fired: Vec<u64>,
}

impl Faults {
    pub fn set(&mut self, config: FaultConfig) {
        self.seen = vec![0; config.rules.len()];
        self.fired = vec![0; config.rules.len()];
        self.config = config;
    }

    pub fn config(&self) -> &FaultConfig {
        &self.config
    }

    pub fn latency_ms(&self) -> u64 {
        self.config.latency_ms
    }

    /// Count this request against every matching rule and return the first one that fires.
    pub fn check(&mut self, method: &str, path: &str) -> Option<FaultRule> {
        let mut chosen = None;
        for (i, rule) in self.config.rules.iter().enumerate() {
            let prefix_ok = rule
                .path_prefix
                .as_deref()
                .is_none_or(|p| path.starts_with(p));
            let method_ok = rule
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method));
            if !(prefix_ok && method_ok) {
                continue;
            }
            let seen = self.seen.get(i).copied().unwrap_or(0);
            if let Some(s) = self.seen.get_mut(i) {
                *s += 1;
            }
            if chosen.is_some() || seen < rule.after {
                continue;
            }
            let fired = self.fired.get(i).copied().unwrap_or(0);
            if rule.count.is_some_and(|c| fired >= c) {
                continue;
            }
            if let Some(f) = self.fired.get_mut(i) {
                *f += 1;
            }
            chosen = Some(rule.clone());
        }
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(after: u64, count: Option<u64>) -> FaultRule {
        FaultRule {
            kind: FaultKind::Drop,
            status: None,
            should_retry: None,
            retry_after: None,
            after,
            count,
            path_prefix: Some("/v1/prices".into()),
            method: None,
            size_bytes: None,
        }
    }

    #[test]
    fn after_and_count() {
        let mut f = Faults::default();
        f.set(FaultConfig {
            latency_ms: 0,
            rules: vec![rule(2, Some(2))],
        });
        let fired: Vec<bool> = (0..6)
            .map(|_| f.check("GET", "/v1/prices").is_some())
            .collect();
        assert_eq!(fired, vec![false, false, true, true, false, false]);
        assert!(f.check("GET", "/v1/products").is_none());
    }
}
