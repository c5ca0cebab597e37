//! Where create_webhook_endpoint() keeps a new endpoint's signing secret, and writing it: where
//! the secret the caller's handle_webhook reads lives now (its user mapping or the server, inline or
//! in Supabase Vault); with none yet, a new Vault secret when there is Vault, else the caller's
//! user mapping (whose options no other role can read; a server's options every role can). The
//! options are written through ProcessUtility (src/utility.rs, no statement text holds the
//! secret), Vault through SPI with the secret as a parameter. The secret is never returned nor
//! shown.
//!
//! Rotation: a server that has a secret already keeps its newest one after the new one
//! (`whsec_new,whsec_old`, src/webhook.rs verifies with either), where it is kept now: the old
//! endpoint's deliveries still verify until `forget_previous_webhook_secret()`.

use crate::error::FdwError;
use crate::isolate::Isolated;
use crate::pgopts::options_map;
use crate::secrets::user_mapping;
use crate::utility;
use crate::webhook::{report, webhook_secret, Raise};
use pgrx::pg_sys::{self, Oid};
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;
use std::collections::HashMap;
use stripe_fdw_core::options::{parse_webhook_secret_options, ServerOptions};
use stripe_fdw_core::spec::quote_ident;
use stripe_fdw_core::webhook::secrets;

/// Where a secret was kept, as create_webhook_endpoint() reports it.
pub(crate) struct Stored {
    pub(crate) place: String,
    pub(crate) previous_kept: bool,
}

/// Where the secret the calling role's handle_webhook reads is kept now.
pub(crate) enum Place {
    /// A Vault secret (its name or id), named by the caller's user mapping or the server.
    Vault(String),
    /// The option webhook_secret of the user mapping that applies to the caller.
    Mapping,
    /// The server's option webhook_secret (readable by every role).
    Server,
    /// Nowhere yet.
    None,
}

/// The server's raw options (for ADD or SET).
fn raw_options(srv: Oid) -> HashMap<String, String> {
    unsafe {
        let fs = pg_sys::GetForeignServer(srv);
        if fs.is_null() {
            return HashMap::new();
        }
        options_map((*fs).options)
    }
}

/// Where the caller's secret is: its user mapping (own or PUBLIC) first, then the server, as
/// handle_webhook reads it.
pub(crate) fn place(srv: Oid, opts: &ServerOptions) -> Result<Place, Raise> {
    let user = unsafe { pg_sys::GetUserId() };
    if let Some(m) = user_mapping(srv, user) {
        let um =
            parse_webhook_secret_options(&m.options).map_err(|e| Raise::from(FdwError::from(e)))?;
        if let Some(n) = um.secret_name.or(um.secret_id) {
            return Ok(Place::Vault(n));
        }
        if um.secret.is_some() {
            return Ok(Place::Mapping);
        }
    }
    let s = &opts.webhook_secret;
    Ok(
        if let Some(n) = s.secret_name.clone().or_else(|| s.secret_id.clone()) {
            Place::Vault(n)
        } else if s.secret.is_some() {
            Place::Server
        } else {
            Place::None
        },
    )
}

/// Set server options (ADD those it lacks, SET the others), as ALTER SERVER does: the validator
/// checks them and only the server's owner may. Values are in no statement text.
pub(crate) fn set_server_options(
    srv: Oid,
    server: &str,
    values: &[(&str, &str)],
) -> Result<(), Raise> {
    let list = utility::options(&raw_options(srv), values)?;
    let name = utility::cstring(server)?;
    let mut stmt = unsafe {
        PgBox::<pg_sys::AlterForeignServerStmt>::alloc_node(
            pg_sys::NodeTag::T_AlterForeignServerStmt,
        )
    };
    stmt.servername = unsafe { pg_sys::pstrdup(name.as_ptr()) };
    stmt.options = list;
    stmt.has_version = false;
    utility::run(
        stmt.into_pg().cast(),
        &utility::shown(&format!("ALTER SERVER {}", quote_ident(server)), values),
    )
}

/// Set options of the user mapping that applies to the caller on the server (its own, or PUBLIC's),
/// or make one for it: ALTER / CREATE USER MAPPING, whose options other roles cannot read.
fn set_mapping_options(srv: Oid, server: &str, values: &[(&str, &str)]) -> Result<(), Raise> {
    let user = unsafe { pg_sys::GetUserId() };
    let name = utility::cstring(server)?;
    let servername = unsafe { pg_sys::pstrdup(name.as_ptr()) };
    match user_mapping(srv, user) {
        Some(m) => {
            let mut stmt = unsafe {
                PgBox::<pg_sys::AlterUserMappingStmt>::alloc_node(
                    pg_sys::NodeTag::T_AlterUserMappingStmt,
                )
            };
            stmt.user = utility::role(m.public);
            stmt.servername = servername;
            stmt.options = utility::options(&m.options, values)?;
            let who = if m.public { "PUBLIC" } else { "CURRENT_USER" };
            utility::run(
                stmt.into_pg().cast(),
                &utility::shown(
                    &format!(
                        "ALTER USER MAPPING FOR {who} SERVER {}",
                        quote_ident(server)
                    ),
                    values,
                ),
            )
        }
        None => {
            let mut stmt = unsafe {
                PgBox::<pg_sys::CreateUserMappingStmt>::alloc_node(
                    pg_sys::NodeTag::T_CreateUserMappingStmt,
                )
            };
            stmt.user = utility::role(false);
            stmt.servername = servername;
            stmt.if_not_exists = false;
            stmt.options = utility::options(&HashMap::new(), values)?;
            utility::run(
                stmt.into_pg().cast(),
                &utility::shown(
                    &format!(
                        "CREATE USER MAPPING FOR CURRENT_USER SERVER {}",
                        quote_ident(server)
                    ),
                    values,
                ),
            )
        }
    }
}

/// The id of the Vault secret named (or with id) `id_or_name`, read as the current user.
const VAULT_ID: &str = "select (select s.id::pg_catalog.text
                          from vault.decrypted_secrets s
                         where s.name OPERATOR(pg_catalog.=) $1
                            or s.id::pg_catalog.text OPERATOR(pg_catalog.=) pg_catalog.lower($1)
                         limit 1)";

fn vault_error(what: &str, name: &str, e: impl std::fmt::Display) -> Raise {
    report(
        PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
        format!("stripe_fdw: could not {what} the Supabase Vault secret \"{name}\": {e}"),
        Some("The server's owner calls create_webhook_endpoint: give it the right to use vault.create_secret and vault.update_secret, and to read vault.decrypted_secrets."),
    )
}

/// Write `value` into the Vault secret `id_or_name` (made when there is none), as the current user
/// with search_path pinned. The value travels as a parameter only.
fn vault_write(id_or_name: &str, value: &str, description: &str) -> Result<(), Raise> {
    let user = unsafe { pg_sys::GetUserId() };
    let _isolated = Isolated::enter(user);
    let found = Spi::get_one_with_args::<String>(VAULT_ID, &[id_or_name.into()])
        .map_err(|e| vault_error("read", id_or_name, e))?;
    match found {
        Some(id) => Spi::run_with_args(
            "select vault.update_secret($1::pg_catalog.uuid, $2)",
            &[id.as_str().into(), value.into()],
        )
        .map_err(|e| vault_error("update", id_or_name, e)),
        None => Spi::run_with_args(
            "select vault.create_secret($1, $2, $3)",
            &[value.into(), id_or_name.into(), description.into()],
        )
        .map_err(|e| vault_error("create", id_or_name, e)),
    }
}

/// The value to keep: the new secret, then the newest of the old value's (if any).
fn with_previous(new: &str, old: Option<&str>) -> (String, bool) {
    match old.and_then(|o| secrets(o).next()) {
        Some(prev) if prev != new => (format!("{new},{prev}"), true),
        _ => (new.to_string(), false),
    }
}

fn description(server: &str) -> String {
    format!("stripe_fdw: signing secret of the webhook endpoint of server {server}")
}

/// The name of the Vault secret a new endpoint's secret goes to when there is Vault and the
/// server has no secret yet.
pub(crate) fn vault_name(server: &str) -> Option<String> {
    crate::vault::vault_exists().then(|| format!("stripe_fdw_webhook_{server}"))
}

/// Keep `secret`, the new signing secret of server `server` (owned by `owner`, options `opts`),
/// where the caller's secret is kept now (see [`place`]); when it has none, in Supabase Vault when
/// there is Vault, else in the caller's user mapping.
pub(crate) fn store(
    srv: Oid,
    server: &str,
    owner: Oid,
    opts: &ServerOptions,
    secret: &str,
) -> Result<Stored, Raise> {
    let old = webhook_secret(srv, server, opts, owner).ok();
    let (value, previous_kept) = with_previous(secret, old.as_deref());
    let place = match place(srv, opts)? {
        Place::Vault(n) => {
            vault_write(&n, &value, &description(server))?;
            format!("Supabase Vault secret \"{n}\"")
        }
        Place::Mapping => {
            set_mapping_options(srv, server, &[("webhook_secret", &value)])?;
            "your user mapping's option webhook_secret".to_string()
        }
        Place::Server => {
            // Every role can read a server's options: the new secret goes to the caller's user
            // mapping, which handle_webhook reads first.
            set_mapping_options(srv, server, &[("webhook_secret", &value)])?;
            "your user mapping's option webhook_secret (the server option webhook_secret, which every role can read, is left as it was: drop it)".to_string()
        }
        Place::None => match vault_name(server) {
            Some(name) => {
                vault_write(&name, &value, &description(server))?;
                set_server_options(srv, server, &[("webhook_secret_name", &name)])?;
                format!("Supabase Vault secret \"{name}\" (server option webhook_secret_name)")
            }
            None => {
                set_mapping_options(srv, server, &[("webhook_secret", &value)])?;
                "your user mapping's option webhook_secret".to_string()
            }
        },
    };
    Ok(Stored {
        place,
        previous_kept,
    })
}

/// Keep only the newest of server `server`'s secrets, where they are kept: the end of a rotation,
/// once the old endpoint is deleted. True when there was a previous one to forget.
pub(crate) fn forget_previous(
    srv: Oid,
    server: &str,
    owner: Oid,
    opts: &ServerOptions,
) -> Result<bool, Raise> {
    let Ok(old) = webhook_secret(srv, server, opts, owner) else {
        return Ok(false);
    };
    let mut all = secrets(&old);
    let (Some(newest), Some(_)) = (all.next(), all.next()) else {
        return Ok(false);
    };
    match place(srv, opts)? {
        Place::Vault(n) => vault_write(&n, newest, &description(server))?,
        Place::Mapping => set_mapping_options(srv, server, &[("webhook_secret", newest)])?,
        Place::Server => set_server_options(srv, server, &[("webhook_secret", newest)])?,
        Place::None => return Ok(false),
    }
    Ok(true)
}
