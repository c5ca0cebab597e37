//! What can go wrong talking to Stripe, with everything a good error message needs and never the key.

use std::time::Duration;

/// Stripe's own error body: `{"error": {"type", "code", "param", "message", "doc_url"}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct ApiError {
    #[serde(rename = "type", default)]
    pub error_type: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub param: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub doc_url: Option<String>,
}

/// Which time limit ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutKind {
    /// Server option `connect_timeout`.
    Connect,
    /// Server option `request_timeout`.
    Request,
}

impl TimeoutKind {
    pub fn option_name(self) -> &'static str {
        match self {
            TimeoutKind::Connect => "connect_timeout",
            TimeoutKind::Request => "request_timeout",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StripeError {
    /// Stripe answered with an HTTP error status.
    #[error("{}", .error.message.as_deref().unwrap_or("Stripe returned an error"))]
    Api {
        status: u16,
        error: Box<ApiError>,
        request_id: Option<String>,
        attempts: u32,
    },
    #[error("Stripe did not answer within {} ({})", .kind.option_name(), humantime::format_duration(*.limit))]
    Timeout {
        kind: TimeoutKind,
        limit: Duration,
        attempts: u32,
    },
    /// No connection could be made or it broke (after any retries).
    #[error("could not talk to Stripe at {host}: {reason}")]
    Transport {
        host: String,
        reason: String,
        attempts: u32,
    },
    /// Stripe's answer could not be read as the expected JSON.
    #[error("Stripe sent a response stripe_fdw cannot read: {reason}")]
    BadBody {
        reason: String,
        request_id: Option<String>,
    },
    #[error("Stripe's response is larger than max_response_size ({limit} bytes)")]
    TooLarge {
        limit: u64,
        request_id: Option<String>,
    },
    /// The query was cancelled (statement_timeout, pg_cancel_backend, Ctrl-C) while waiting on Stripe.
    #[error("canceling statement due to user request")]
    Cancelled,
}

impl ApiError {
    fn scrubbed(self, key: &str) -> ApiError {
        let s = |v: Option<String>| v.map(|t| scrub_secrets(&t, key));
        ApiError {
            error_type: s(self.error_type),
            code: s(self.code),
            param: s(self.param),
            message: s(self.message),
            doc_url: s(self.doc_url),
        }
    }
}

impl StripeError {
    /// The same error with the API key (and anything shaped like a Stripe secret) removed from every
    /// text it carries: whatever a server sends back may quote the key, in any field.
    pub fn scrubbed(self, key: &str) -> StripeError {
        let s = |t: String| scrub_secrets(&t, key);
        let so = |t: Option<String>| t.map(|t| scrub_secrets(&t, key));
        match self {
            StripeError::Api {
                status,
                error,
                request_id,
                attempts,
            } => StripeError::Api {
                status,
                error: Box::new(error.scrubbed(key)),
                request_id: so(request_id),
                attempts,
            },
            StripeError::Transport {
                host,
                reason,
                attempts,
            } => StripeError::Transport {
                host: s(host),
                reason: s(reason),
                attempts,
            },
            StripeError::BadBody { reason, request_id } => StripeError::BadBody {
                reason: s(reason),
                request_id: so(request_id),
            },
            StripeError::TooLarge { limit, request_id } => StripeError::TooLarge {
                limit,
                request_id: so(request_id),
            },
            e @ (StripeError::Timeout { .. } | StripeError::Cancelled) => e,
        }
    }
}

/// Remove anything that looks like a Stripe secret from text we did not write (Stripe's messages
/// echo a masked key; transport errors may quote a URL). Keys look like `sk_live_...`, `rk_test_...`.
pub fn scrub_secrets(text: &str, key: &str) -> String {
    let mut out = if key.is_empty() {
        text.to_string()
    } else {
        text.replace(key, "[redacted]")
    };
    for prefix in ["sk_live_", "sk_test_", "rk_live_", "rk_test_"] {
        let mut result = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while let Some(pos) = rest.find(prefix) {
            result.push_str(&rest[..pos]);
            result.push_str("[redacted]");
            let tail = &rest[pos + prefix.len()..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '*' || c == '_'))
                .unwrap_or(tail.len());
            rest = &tail[end..];
        }
        result.push_str(rest);
        out = result;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_scrubbed_whole() {
        let msg = "Invalid API Key provided: sk_test_********1234. Also rk_live_abcDEF_12!";
        assert_eq!(
            scrub_secrets(msg, "sk_test_secret"),
            "Invalid API Key provided: [redacted]. Also [redacted]!"
        );
        assert_eq!(
            scrub_secrets("key mykey42 here", "mykey42"),
            "key [redacted] here"
        );
        assert_eq!(scrub_secrets("nothing here", ""), "nothing here");
    }

    #[test]
    fn every_field_is_scrubbed() {
        let key = "sk_test_abc123";
        let echo = |f: &str| Some(format!("{f} Bearer {key}"));
        let e = StripeError::Api {
            status: 400,
            error: Box::new(ApiError {
                error_type: echo("type"),
                code: echo("code"),
                param: echo("param"),
                message: echo("message"),
                doc_url: echo("doc_url"),
            }),
            request_id: echo("req"),
            attempts: 1,
        }
        .scrubbed(key);
        let debug = format!("{e:?} {e}");
        assert!(!debug.contains("abc123"), "{debug}");
        assert!(debug.contains("param Bearer [redacted]"), "{debug}");
        for e in [
            StripeError::BadBody {
                reason: format!("got \"{key}\""),
                request_id: Some(key.into()),
            },
            StripeError::Transport {
                host: "h".into(),
                reason: format!("refused {key}"),
                attempts: 1,
            },
            StripeError::TooLarge {
                limit: 1,
                request_id: Some(key.into()),
            },
        ] {
            let shown = {
                let e = e.scrubbed(key);
                format!("{e:?} {e}")
            };
            assert!(!shown.contains("abc123"), "{shown}");
        }
    }

    #[test]
    fn messages_name_the_option_that_ran_out() {
        let e = StripeError::Timeout {
            kind: TimeoutKind::Request,
            limit: Duration::from_secs(30),
            attempts: 1,
        };
        assert_eq!(
            e.to_string(),
            "Stripe did not answer within request_timeout (30s)"
        );
    }
}
