//! Where the API key comes from: the user mapping first, then the server, each either inline or in
//! Supabase Vault (`api_key_id` / `api_key_name`). The key is returned, never logged or shown.

use crate::error::FdwError;
use crate::pgopts::options_map;
use pgrx::pg_sys;
use pgrx::prelude::*;
use stripe_fdw_core::options::{parse_secret_options, SecretOptions};

/// The options of the user mapping for the current user (or PUBLIC) on `server`, if there is one.
fn user_mapping_options(server: pg_sys::Oid) -> Result<SecretOptions, FdwError> {
    unsafe {
        let user = pg_sys::GetUserId();
        let exists = |uid: pg_sys::Oid| {
            pg_sys::SearchSysCacheExists(
                pg_sys::SysCacheIdentifier::USERMAPPINGUSERSERVER as i32,
                uid.into(),
                server.into(),
                pg_sys::Datum::from(0),
                pg_sys::Datum::from(0),
            )
        };
        if !exists(user) && !exists(pg_sys::InvalidOid) {
            return Ok(SecretOptions::default());
        }
        let um = pg_sys::GetUserMapping(user, server);
        if um.is_null() {
            return Ok(SecretOptions::default());
        }
        Ok(parse_secret_options(&options_map((*um).options))?)
    }
}

fn vault_exists() -> bool {
    Spi::get_one::<bool>("select exists (select 1 from pg_namespace where nspname = 'vault')")
        .ok()
        .flatten()
        .unwrap_or(false)
}

fn from_vault(kind: &str, id_or_name: &str, by_name: bool) -> Result<String, FdwError> {
    if !vault_exists() {
        return Err(FdwError::Vault {
            message: format!(
                "option {kind} needs Supabase Vault, but there is no \"vault\" schema"
            ),
            hint:
                "Install Supabase Vault, or give the key with the api_key option of a user mapping."
                    .into(),
        });
    }
    // One row always (a scalar subquery), NULL when there is no such secret. api_key_id takes the
    // secret's id or key_id, or its name, as Supabase Wrappers does.
    let query = if by_name {
        "select (select decrypted_secret from vault.decrypted_secrets where name = $1 limit 1)"
    } else {
        "select (select decrypted_secret from vault.decrypted_secrets
                  where id::text = lower($1) or key_id::text = lower($1) or name = $1 limit 1)"
    };
    let found = Spi::get_one_with_args::<String>(query, &[id_or_name.into()]).map_err(|e| {
        FdwError::Vault {
            message: format!("could not read Supabase Vault for {kind} \"{id_or_name}\": {e}"),
            hint: "Check that this role may read vault.decrypted_secrets.".into(),
        }
    })?;
    found
        .filter(|k| !k.is_empty())
        .ok_or_else(|| FdwError::Vault {
            message: format!("no secret in Supabase Vault for {kind} \"{id_or_name}\""),
            hint: "Check vault.decrypted_secrets, and that this role may read it.".into(),
        })
}

fn resolve_one(s: &SecretOptions) -> Result<Option<String>, FdwError> {
    if let Some(k) = &s.api_key {
        return Ok(Some(k.clone()));
    }
    if let Some(id) = &s.api_key_id {
        return from_vault("api_key_id", id, false).map(Some);
    }
    if let Some(name) = &s.api_key_name {
        return from_vault("api_key_name", name, true).map(Some);
    }
    Ok(None)
}

/// The API key for `server`: user mapping, else server options.
pub fn api_key(
    server: pg_sys::Oid,
    server_name: &str,
    server_secret: &SecretOptions,
) -> Result<String, FdwError> {
    let um = user_mapping_options(server)?;
    if let Some(k) = resolve_one(&um)? {
        return Ok(k);
    }
    resolve_one(server_secret)?.ok_or_else(|| FdwError::NoKey {
        server: server_name.to_string(),
    })
}
