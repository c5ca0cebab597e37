//! Where the API key comes from: the user mapping first, then the server, each either inline or in
//! Supabase Vault (`api_key_id` / `api_key_name`). The key is returned, never logged or shown.
//!
//! As in postgres_fdw, the user mapping is that of the role whose permissions are checked for the
//! table (the view owner when it is read through a view). Vault is read with the privileges of the
//! role that named the secret: the mapping's user for a user mapping's option, the server's owner
//! for a server option. So a server someone else made cannot name, and send away, a secret only
//! the reader may read. The lookup runs isolated from the caller (src/isolate.rs).

use crate::error::FdwError;
use crate::isolate::Isolated;
use crate::pgopts::options_map;
use pgrx::pg_sys;
use pgrx::prelude::*;
use stripe_fdw_core::options::{parse_secret_options, SecretOptions};

/// The options of the user mapping for `user` (or PUBLIC) on `server` (empty when there is none).
pub(crate) fn user_mapping_map(
    server: pg_sys::Oid,
    user: pg_sys::Oid,
) -> std::collections::HashMap<String, String> {
    unsafe {
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
            return Default::default();
        }
        let um = pg_sys::GetUserMapping(user, server);
        if um.is_null() {
            return Default::default();
        }
        options_map((*um).options)
    }
}

/// The key options of the user mapping for `user` (or PUBLIC) on `server`, if there is one.
fn user_mapping_options(server: pg_sys::Oid, user: pg_sys::Oid) -> Result<SecretOptions, FdwError> {
    Ok(parse_secret_options(&user_mapping_map(server, user))?)
}

/// True when there is a schema "vault" (a catalog lookup: no SQL, so nothing to shadow).
fn vault_exists() -> bool {
    unsafe { pg_sys::get_namespace_oid(c"vault".as_ptr(), true) != pg_sys::InvalidOid }
}

/// The lookup by name: one row always (a scalar subquery), NULL when there is no such secret.
/// Every name and operator is qualified; it runs under [`Isolated`], search_path pinned.
const BY_NAME: &str = "select (select s.decrypted_secret::pg_catalog.text
                          from vault.decrypted_secrets s
                         where s.name OPERATOR(pg_catalog.=) $1
                         limit 1)";

/// The lookup by api_key_id: the secret's id or key_id, or its name, as Supabase Wrappers does.
const BY_ID: &str = "select (select s.decrypted_secret::pg_catalog.text
                        from vault.decrypted_secrets s
                       where s.id::pg_catalog.text OPERATOR(pg_catalog.=) pg_catalog.lower($1)
                          or s.key_id::pg_catalog.text OPERATOR(pg_catalog.=) pg_catalog.lower($1)
                          or s.name OPERATOR(pg_catalog.=) $1
                       limit 1)";

/// The secret `id_or_name` (option `kind`) from Supabase Vault, read with `user`'s privileges.
pub(crate) fn from_vault(
    kind: &str,
    id_or_name: &str,
    by_name: bool,
    user: pg_sys::Oid,
) -> Result<String, FdwError> {
    let _isolated = Isolated::enter(user);
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
    let query = if by_name { BY_NAME } else { BY_ID };
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

fn resolve_one(s: &SecretOptions, user: pg_sys::Oid) -> Result<Option<String>, FdwError> {
    if let Some(k) = &s.api_key {
        return Ok(Some(k.clone()));
    }
    if let Some(id) = &s.api_key_id {
        return from_vault("api_key_id", id, false, user).map(Some);
    }
    if let Some(name) = &s.api_key_name {
        return from_vault("api_key_name", name, true, user).map(Some);
    }
    Ok(None)
}

/// The API key for `server` (owned by `owner`) as `user` sees it: user mapping, else server options.
pub fn api_key(
    server: pg_sys::Oid,
    server_name: &str,
    server_secret: &SecretOptions,
    user: pg_sys::Oid,
    owner: pg_sys::Oid,
) -> Result<String, FdwError> {
    let um = user_mapping_options(server, user)?;
    if let Some(k) = resolve_one(&um, user)? {
        return Ok(k);
    }
    resolve_one(server_secret, owner)?.ok_or_else(|| FdwError::NoKey {
        server: server_name.to_string(),
        user: user_name(user),
    })
}

/// A role's name, for messages.
pub(crate) fn user_name(user: pg_sys::Oid) -> String {
    unsafe {
        let p = pg_sys::GetUserNameFromId(user, true);
        if p.is_null() {
            format!("role {}", user.to_u32())
        } else {
            std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned()
        }
    }
}
