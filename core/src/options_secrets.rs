//! Where secrets come from (the API key and the webhook endpoint secret): inline, or Supabase
//! Vault by id or name; the values themselves are resolved by the extension (Vault needs SPI).

use super::{bad, OptionError};
use std::collections::HashMap;

/// Where the API key comes from; the key itself is resolved by the extension (vault needs SPI).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretOptions {
    pub api_key: Option<String>,
    pub api_key_id: Option<String>,
    pub api_key_name: Option<String>,
}

pub fn parse_secret_options(map: &HashMap<String, String>) -> Result<SecretOptions, OptionError> {
    let [api_key, api_key_id, api_key_name] =
        parse_secret_trio(map, ["api_key", "api_key_id", "api_key_name"])?;
    Ok(SecretOptions {
        api_key,
        api_key_id,
        api_key_name,
    })
}

/// Where the webhook endpoint secret (`whsec_...`) comes from: inline, or Supabase Vault by id or
/// name. Like the API key, on the user mapping or the server; never shown (Debug redacts it).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct WebhookSecretOptions {
    pub secret: Option<String>,
    pub secret_id: Option<String>,
    pub secret_name: Option<String>,
}

impl std::fmt::Debug for WebhookSecretOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSecretOptions")
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .field("secret_id", &self.secret_id)
            .field("secret_name", &self.secret_name)
            .finish()
    }
}

impl WebhookSecretOptions {
    pub fn is_set(&self) -> bool {
        self.secret.is_some() || self.secret_id.is_some() || self.secret_name.is_some()
    }
}

pub fn parse_webhook_secret_options(
    map: &HashMap<String, String>,
) -> Result<WebhookSecretOptions, OptionError> {
    let [secret, secret_id, secret_name] = parse_secret_trio(
        map,
        ["webhook_secret", "webhook_secret_id", "webhook_secret_name"],
    )?;
    Ok(WebhookSecretOptions {
        secret,
        secret_id,
        secret_name,
    })
}

/// Three mutually exclusive ways to give one secret (inline, Vault id, Vault name).
fn parse_secret_trio(
    map: &HashMap<String, String>,
    names: [&'static str; 3],
) -> Result<[Option<String>; 3], OptionError> {
    let mut out: [Option<String>; 3] = Default::default();
    for (slot, name) in out.iter_mut().zip(names) {
        let Some(v) = map.get(name) else { continue };
        if v.is_empty() || v.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(bad(name, v, "a non-empty value without spaces"));
        }
        *slot = Some(v.clone());
    }
    if out.iter().filter(|o| o.is_some()).count() > 1 {
        return Err(OptionError::BadValue {
            name: names[0].into(),
            shown: format!("{}, {} and {} are exclusive", names[0], names[1], names[2]),
            expected: "only one of them".into(),
        });
    }
    Ok(out)
}
