//! Where the API key comes from: the user mapping first, then the server, each either inline or in
//! Supabase Vault (`api_key_id` / `api_key_name`), and with whose privileges Vault is read. The key
//! is returned, never logged or shown; the lookup itself is src/vault.rs.
//!
//! As in postgres_fdw, the user mapping is that of the role whose permissions are checked for the
//! table (the view owner when it is read through a view). A secret named in a server option is read
//! as the server's owner. A secret named in a user mapping is read as the role the mapping applies
//! to, and only when the server's owner has that role's privileges (is it, a member of it, or a
//! superuser): whoever owns a server decides where its requests go (api_url) and may write user
//! mappings for any role, so without this it could name another role's secret in a mapping for that
//! role and receive it. A server's owner who could act as the role anyway gains nothing.

use crate::error::{FdwError, MappingSecret};
use crate::pgopts::options_map;
use crate::vault;
use pgrx::pg_sys;
use std::collections::HashMap;
use stripe_fdw_core::options::{parse_secret_options, SecretOptions};

/// The user mapping that applies to a role on a server: its own, else PUBLIC's.
pub(crate) struct UserMapping {
    /// True for the mapping for PUBLIC.
    pub(crate) public: bool,
    pub(crate) options: HashMap<String, String>,
}

/// The user mapping for `user` (else PUBLIC) on `server`, if there is one.
pub(crate) fn user_mapping(server: pg_sys::Oid, user: pg_sys::Oid) -> Option<UserMapping> {
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
        let public = !exists(user);
        if public && !exists(pg_sys::InvalidOid) {
            return None;
        }
        let um = pg_sys::GetUserMapping(user, server);
        if um.is_null() {
            return None;
        }
        Some(UserMapping {
            public,
            options: options_map((*um).options),
        })
    }
}

/// Where a Vault secret was named, which decides whose privileges read it.
pub(crate) enum NamedIn<'a> {
    /// A server option: read as the server's owner.
    Server { owner: pg_sys::Oid },
    /// An option of `mapping`, the one `user` gets on server `server` (owned by `owner`): read as
    /// `user`, only when `owner` has `user`'s privileges.
    Mapping {
        mapping: &'a UserMapping,
        server: &'a str,
        owner: pg_sys::Oid,
        user: pg_sys::Oid,
    },
}

/// The Vault secret `id_or_name`, named by option `kind` in `named`, read as the module's rule says.
pub(crate) fn vault_secret(
    kind: &str,
    id_or_name: &str,
    by_name: bool,
    named: &NamedIn,
) -> Result<String, FdwError> {
    match *named {
        NamedIn::Server { owner } => vault::read(kind, id_or_name, by_name, owner),
        NamedIn::Mapping {
            mapping,
            server,
            owner,
            user,
        } => {
            if !unsafe { pg_sys::has_privs_of_role(owner, user) } {
                return Err(FdwError::MappingSecret(Box::new(MappingSecret {
                    server: server.to_string(),
                    mapping: if mapping.public {
                        "PUBLIC".into()
                    } else {
                        format!("\"{}\"", user_name(user))
                    },
                    option: kind.to_string(),
                    secret: id_or_name.to_string(),
                    owner: user_name(owner),
                    user: user_name(user),
                })));
            }
            vault::read(kind, id_or_name, by_name, user)
        }
    }
}

fn resolve_one(s: &SecretOptions, named: &NamedIn) -> Result<Option<String>, FdwError> {
    if let Some(k) = &s.api_key {
        return Ok(Some(k.clone()));
    }
    if let Some(id) = &s.api_key_id {
        return vault_secret("api_key_id", id, false, named).map(Some);
    }
    if let Some(name) = &s.api_key_name {
        return vault_secret("api_key_name", name, true, named).map(Some);
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
    if let Some(mapping) = user_mapping(server, user) {
        let named = NamedIn::Mapping {
            mapping: &mapping,
            server: server_name,
            owner,
            user,
        };
        if let Some(k) = resolve_one(&parse_secret_options(&mapping.options)?, &named)? {
            return Ok(k);
        }
    }
    resolve_one(server_secret, &NamedIn::Server { owner })?.ok_or_else(|| FdwError::NoKey {
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
