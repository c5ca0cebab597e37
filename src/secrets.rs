//! Where the API key comes from: the user mapping first, then the server, each either inline or in
//! Supabase Vault (`api_key_id` / `api_key_name`). The key is returned, never logged or shown.
//!
//! As in postgres_fdw, the user mapping is that of the role whose permissions are checked for the
//! table (the view owner when it is read through a view). Vault is read with the privileges of the
//! role that named the secret: the mapping's user for a user mapping's option, the server's owner
//! for a server option. So a server someone else made cannot name, and send away, a secret only
//! the reader may read. The lookup itself is src/vault.rs.

use crate::error::FdwError;
use crate::pgopts::options_map;
use crate::vault;
use pgrx::pg_sys;
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

fn resolve_one(s: &SecretOptions, user: pg_sys::Oid) -> Result<Option<String>, FdwError> {
    if let Some(k) = &s.api_key {
        return Ok(Some(k.clone()));
    }
    if let Some(id) = &s.api_key_id {
        return vault::read("api_key_id", id, false, user).map(Some);
    }
    if let Some(name) = &s.api_key_name {
        return vault::read("api_key_name", name, true, user).map(Some);
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
