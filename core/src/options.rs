//! Server, user mapping and table options: parsed once into typed structs, checked with clear errors.

use crate::objects;
use crate::spec::ObjectSpec;
use std::collections::HashMap;
use std::time::Duration;
use url::Url;

/// Where an option is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Wrapper,
    Server,
    UserMapping,
    Table,
    Column,
}

impl Scope {
    pub fn label(self) -> &'static str {
        match self {
            Scope::Wrapper => "foreign-data wrapper",
            Scope::Server => "server",
            Scope::UserMapping => "user mapping",
            Scope::Table => "foreign table",
            Scope::Column => "column",
        }
    }

    /// The options valid in this scope, in documentation order.
    pub fn valid(self) -> &'static [&'static str] {
        match self {
            Scope::Wrapper | Scope::Column => &[],
            Scope::Server => &[
                "api_key",
                "api_key_id",
                "api_key_name",
                "api_url",
                "api_version",
                "account",
                "account_id",
                "connect_timeout",
                "request_timeout",
                "max_retries",
                "retry_deadline",
                "max_response_size",
                "max_concurrency",
                "webhook_secret",
                "webhook_secret_id",
                "webhook_secret_name",
                "webhook_tolerance",
            ],
            Scope::UserMapping => &[
                "api_key",
                "api_key_id",
                "api_key_name",
                "webhook_secret",
                "webhook_secret_id",
                "webhook_secret_name",
            ],
            Scope::Table => &["object", "estimated_rows", "rowid_column", "startup_cost"],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionError {
    #[error("invalid option \"{name}\" for a stripe_fdw {}", .scope.label())]
    Unknown { name: String, scope: Scope },
    #[error("option \"{name}\" is required for a stripe_fdw {}", .scope.label())]
    Missing { name: &'static str, scope: Scope },
    #[error("invalid value for option \"{name}\": {shown}")]
    BadValue {
        name: String,
        shown: String,
        expected: String,
    },
    #[error("unknown Stripe object \"{value}\"")]
    UnknownObject { value: String },
}

impl OptionError {
    /// The hint that tells the user what to do.
    pub fn hint(&self) -> String {
        match self {
            OptionError::Unknown { scope, .. } if scope.valid().is_empty() => {
                format!("A stripe_fdw {} takes no options.", scope.label())
            }
            OptionError::Unknown { scope, .. } => {
                format!(
                    "Valid options in this context are: {}.",
                    scope.valid().join(", ")
                )
            }
            OptionError::Missing { name: "object", .. } => format!(
                "Add options (object '<name>') with one of: {}.",
                objects::names().join(", ")
            ),
            OptionError::Missing { name, .. } => format!("Add the option \"{name}\"."),
            OptionError::BadValue { expected, .. } => format!("Expected {expected}."),
            OptionError::UnknownObject { value } => match objects::by_table(value) {
                // A table's name where Stripe's path is meant (`checkout_sessions`).
                Some(o) => format!("Use object '{}'.", o.name),
                None => format!("Known objects are: {}.", objects::names().join(", ")),
            },
        }
    }
}

const SECRET_OPTIONS: &[&str] = &["api_key", "webhook_secret"];

fn bad(name: &str, value: &str, expected: &str) -> OptionError {
    let shown = if SECRET_OPTIONS.contains(&name) {
        "(value hidden)".to_string()
    } else {
        format!("\"{value}\"")
    };
    OptionError::BadValue {
        name: name.to_string(),
        shown,
        expected: expected.to_string(),
    }
}

/// Check every option of one catalog object, as the validator function does at CREATE/ALTER.
pub fn validate(scope: Scope, options: &[(String, String)]) -> Result<(), OptionError> {
    let map: HashMap<String, String> = options.iter().cloned().collect();
    for (name, _) in options {
        if !scope.valid().contains(&name.as_str()) {
            return Err(OptionError::Unknown {
                name: name.clone(),
                scope,
            });
        }
    }
    match scope {
        Scope::Wrapper | Scope::Column => Ok(()),
        Scope::Server => ServerOptions::parse(&map).map(|_| ()),
        Scope::UserMapping => {
            parse_secret_options(&map)?;
            parse_webhook_secret_options(&map).map(|_| ())
        }
        Scope::Table => TableOptions::parse(&map).map(|_| ()),
    }
}

#[path = "options_secrets.rs"]
mod secrets;
pub use secrets::{
    parse_secret_options, parse_webhook_secret_options, SecretOptions, WebhookSecretOptions,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerOptions {
    pub secret: SecretOptions,
    pub api_url: Url,
    /// `Stripe-Version`; `None` (option value 'account') sends none: the account's default applies.
    pub api_version: Option<String>,
    pub account: Option<String>,
    /// The id of the account the key reads (`account_id`, set by create_webhook_endpoint): with
    /// `account`, the account whose events handle_webhook accepts.
    pub account_id: Option<String>,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub max_retries: u32,
    pub retry_deadline: Duration,
    pub max_response_size: u64,
    /// List pages fetched at once by a scan that may come in any order (1 = one at a time).
    pub max_concurrency: u32,
    pub webhook_secret: WebhookSecretOptions,
    /// How old a webhook signature may be (`webhook_tolerance`, default 300 s).
    pub webhook_tolerance: Duration,
}

pub const DEFAULT_MAX_CONCURRENCY: u32 = 4;

pub const DEFAULT_API_URL: &str = "https://api.stripe.com/v1";

/// The API version whose object shapes the column definitions follow; sent unless the server
/// option api_version says otherwise, so an account's older default does not change the columns.
pub const DEFAULT_API_VERSION: &str = "2026-10-28.endive";

fn duration(
    map: &HashMap<String, String>,
    name: &str,
    default: Duration,
) -> Result<Duration, OptionError> {
    let Some(v) = map.get(name) else {
        return Ok(default);
    };
    let expected =
        "a duration such as '30s', '500ms' or '2min' (a bare number is seconds), from 1ms to 1h";
    let d = match v.trim().parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => humantime::parse_duration(v.trim()).map_err(|_| bad(name, v, expected))?,
    };
    if d < Duration::from_millis(1) || d > Duration::from_secs(3600) {
        return Err(bad(name, v, expected));
    }
    Ok(d)
}

fn size(map: &HashMap<String, String>, name: &str, default: u64) -> Result<u64, OptionError> {
    let Some(v) = map.get(name) else {
        return Ok(default);
    };
    let expected = "a size in bytes, optionally with kB, MB or GB, from 1kB to 1GB (e.g. '16MB')";
    let t = v.trim();
    let (num, mult) = if let Some(n) = t.strip_suffix("GB") {
        (n, 1u64 << 30)
    } else if let Some(n) = t.strip_suffix("MB") {
        (n, 1 << 20)
    } else if let Some(n) = t.strip_suffix("kB") {
        (n, 1 << 10)
    } else {
        (t, 1)
    };
    let n: u64 = num.trim().parse().map_err(|_| bad(name, v, expected))?;
    let bytes = n.checked_mul(mult).ok_or_else(|| bad(name, v, expected))?;
    if !(1024..=(1 << 30)).contains(&bytes) {
        return Err(bad(name, v, expected));
    }
    Ok(bytes)
}

/// `webhook_tolerance`: a positive duration of whole seconds, 1 s to 1 day (a tolerance of 0 would
/// turn the age check off, so it is refused).
fn tolerance(map: &HashMap<String, String>) -> Result<Duration, OptionError> {
    let default = Duration::from_secs(crate::webhook::DEFAULT_TOLERANCE.unsigned_abs());
    let Some(v) = map.get("webhook_tolerance") else {
        return Ok(default);
    };
    let expected =
        "a duration such as '300s' or '5min' (a bare number is seconds), from 1s to 1 day";
    let d = match v.trim().parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => humantime::parse_duration(v.trim())
            .map_err(|_| bad("webhook_tolerance", v, expected))?,
    };
    if d < Duration::from_secs(1) || d > Duration::from_secs(86_400) || d.subsec_nanos() != 0 {
        return Err(bad("webhook_tolerance", v, expected));
    }
    Ok(d)
}

/// An account id option (`account`, `account_id`): `acct_` and letters, digits, underscores.
fn account_option(
    map: &HashMap<String, String>,
    name: &str,
    what: &str,
) -> Result<Option<String>, OptionError> {
    match map.get(name) {
        Some(v)
            if !v.starts_with("acct_")
                || !v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
        {
            Err(bad(
                name,
                v,
                &format!("{what} such as 'acct_1032D82eZvKYlo2C'"),
            ))
        }
        v => Ok(v.cloned()),
    }
}

impl ServerOptions {
    /// The account whose events this server accepts, when known: the connected account it acts
    /// for (`account`), else its key's own (`account_id`).
    pub fn known_account(&self) -> Option<&str> {
        self.account.as_deref().or(self.account_id.as_deref())
    }

    pub fn parse(map: &HashMap<String, String>) -> Result<Self, OptionError> {
        let secret = parse_secret_options(map)?;
        let raw_url = map
            .get("api_url")
            .map(String::as_str)
            .unwrap_or(DEFAULT_API_URL);
        let url_expected = "an http:// or https:// URL such as 'https://api.stripe.com/v1'";
        let api_url = Url::parse(raw_url.trim_end_matches('/'))
            .ok()
            .filter(|u| (u.scheme() == "https" || u.scheme() == "http") && u.host().is_some())
            .filter(|u| u.query().is_none() && u.username().is_empty() && u.password().is_none())
            .ok_or_else(|| bad("api_url", raw_url, url_expected))?;
        let api_version = match map.get("api_version") {
            Some(v) if v.is_empty() || !v.bytes().all(|b| b.is_ascii_graphic()) => {
                return Err(bad(
                    "api_version",
                    v,
                    "a Stripe API version such as '2026-10-28.endive'",
                ))
            }
            Some(v) if v == "account" => None,
            Some(v) => Some(v.clone()),
            None => Some(DEFAULT_API_VERSION.to_string()),
        };
        let account = account_option(map, "account", "a connected account id")?;
        let account_id = account_option(map, "account_id", "the id of the key's own account")?;
        if let (Some(a), Some(b)) = (&account, &account_id) {
            if a != b {
                return Err(bad(
                    "account_id",
                    b,
                    "the same account as option account (the connected account the server acts for), or no account_id",
                ));
            }
        }
        let max_retries = match map.get("max_retries") {
            None => 3,
            Some(v) => v
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= 10)
                .ok_or_else(|| bad("max_retries", v, "a whole number from 0 to 10"))?,
        };
        let max_concurrency = match map.get("max_concurrency") {
            None => DEFAULT_MAX_CONCURRENCY,
            Some(v) => v
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=16).contains(n))
                .ok_or_else(|| {
                    bad(
                        "max_concurrency",
                        v,
                        "a whole number from 1 (one request at a time) to 16",
                    )
                })?,
        };
        Ok(ServerOptions {
            secret,
            api_url,
            api_version,
            account,
            account_id,
            connect_timeout: duration(map, "connect_timeout", Duration::from_secs(10))?,
            request_timeout: duration(map, "request_timeout", Duration::from_secs(30))?,
            max_retries,
            retry_deadline: duration(map, "retry_deadline", Duration::from_secs(60))?,
            max_response_size: size(map, "max_response_size", 16 << 20)?,
            max_concurrency,
            webhook_secret: parse_webhook_secret_options(map)?,
            webhook_tolerance: tolerance(map)?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct TableOptions {
    pub object: &'static ObjectSpec,
    pub estimated_rows: Option<i64>,
}

impl TableOptions {
    pub fn parse(map: &HashMap<String, String>) -> Result<Self, OptionError> {
        let name = map.get("object").ok_or(OptionError::Missing {
            name: "object",
            scope: Scope::Table,
        })?;
        let object = objects::find(name).ok_or_else(|| OptionError::UnknownObject {
            value: name.clone(),
        })?;
        let estimated_rows = match map.get("estimated_rows") {
            None => None,
            Some(v) => Some(
                v.trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| bad("estimated_rows", v, "a whole number of rows, 0 or more"))?,
            ),
        };
        if let Some(v) = map.get("startup_cost") {
            if !v
                .trim()
                .parse::<f64>()
                .is_ok_and(|c| c.is_finite() && c >= 0.0)
            {
                return Err(bad("startup_cost", v, "a non-negative number"));
            }
        }
        if let Some(v) = map.get("rowid_column") {
            if v != "id" {
                return Err(bad(
                    "rowid_column",
                    v,
                    "'id' (kept for compatibility; stripe_fdw is read-only)",
                ));
            }
        }
        Ok(TableOptions {
            object,
            estimated_rows,
        })
    }
}

#[cfg(test)]
#[path = "options_tests.rs"]
mod tests;
