//! Where create_webhook_endpoint() keeps a new endpoint's signing secret, and writing it: a server
//! option (ALTER SERVER through its parse node, so no statement text ever holds the secret) or
//! Supabase Vault (SPI with the secret as a parameter). The secret is never returned nor shown.
//!
//! Rotation: a server that has a secret already keeps its newest one after the new one
//! (`whsec_new,whsec_old`, src/webhook.rs verifies with either), where it is kept now: the old
//! endpoint's deliveries still verify until `forget_previous_webhook_secret()`.

use crate::error::FdwError;
use crate::isolate::Isolated;
use crate::pgopts::options_map;
use crate::secrets::NamedIn;
use crate::webhook::{report, resolve_secret, Raise};
use pgrx::pg_sys::{self, Oid};
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;
use std::collections::HashMap;
use std::ffi::CString;
use stripe_fdw_core::options::WebhookSecretOptions;
use stripe_fdw_core::webhook::secrets;

/// Where a secret was kept, as create_webhook_endpoint() reports it.
pub(crate) struct Stored {
    pub(crate) place: String,
    pub(crate) previous_kept: bool,
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

fn cstring(s: &str) -> Result<CString, Raise> {
    CString::new(s).map_err(|_| {
        Raise::from(FdwError::Internal(
            "an option name or value holds a NUL byte".into(),
        ))
    })
}

/// Set server options (ADD those it lacks, SET the others), as ALTER SERVER does: the validator
/// checks them and the server's owner may do it. Values are never part of any statement text.
pub(crate) fn set_server_options(
    srv: Oid,
    server: &str,
    values: &[(&str, &str)],
) -> Result<(), Raise> {
    let have = raw_options(srv);
    unsafe {
        let mut list: *mut pg_sys::List = std::ptr::null_mut();
        for (name, value) in values {
            let n = pg_sys::pstrdup(cstring(name)?.as_ptr());
            let v = pg_sys::pstrdup(cstring(value)?.as_ptr());
            let def = pg_sys::makeDefElem(n, pg_sys::makeString(v).cast(), -1);
            (*def).defaction = if have.contains_key(*name) {
                pg_sys::DefElemAction::DEFELEM_SET
            } else {
                pg_sys::DefElemAction::DEFELEM_ADD
            };
            list = pg_sys::lappend(list, def.cast());
        }
        let mut stmt = PgBox::<pg_sys::AlterForeignServerStmt>::alloc_node(
            pg_sys::NodeTag::T_AlterForeignServerStmt,
        );
        stmt.servername = pg_sys::pstrdup(cstring(server)?.as_ptr());
        stmt.options = list;
        stmt.has_version = false;
        pg_sys::AlterForeignServer(stmt.as_ptr());
        pg_sys::CommandCounterIncrement();
    }
    Ok(())
}

fn vault_exists() -> bool {
    unsafe { pg_sys::get_namespace_oid(c"vault".as_ptr(), true) != pg_sys::InvalidOid }
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

/// Keep `secret`, the new signing secret of server `server` (owned by `owner`, whose webhook
/// secret options are `current`), where its secret is kept now; when it has none, in Supabase Vault
/// when there is a `vault` schema, else in the server option `webhook_secret`.
pub(crate) fn store(
    srv: Oid,
    server: &str,
    owner: Oid,
    current: &WebhookSecretOptions,
    secret: &str,
) -> Result<Stored, Raise> {
    let old = resolve_secret(current, &NamedIn::Server { owner })?;
    let (value, previous_kept) = with_previous(secret, old.as_deref());
    let description =
        format!("stripe_fdw: signing secret of the webhook endpoint of server {server}");
    let place = if let Some(name) = &current.secret_name {
        vault_write(name, &value, &description)?;
        format!("Supabase Vault secret \"{name}\" (server option webhook_secret_name)")
    } else if let Some(id) = &current.secret_id {
        vault_write(id, &value, &description)?;
        format!("Supabase Vault secret {id} (server option webhook_secret_id)")
    } else if current.secret.is_none() && vault_exists() {
        let name = format!("stripe_fdw_webhook_{server}");
        vault_write(&name, &value, &description)?;
        set_server_options(srv, server, &[("webhook_secret_name", &name)])?;
        format!("Supabase Vault secret \"{name}\" (server option webhook_secret_name)")
    } else {
        set_server_options(srv, server, &[("webhook_secret", &value)])?;
        "server option webhook_secret".to_string()
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
    current: &WebhookSecretOptions,
) -> Result<bool, Raise> {
    let Some(old) = resolve_secret(current, &NamedIn::Server { owner })? else {
        return Ok(false);
    };
    let mut all = secrets(&old);
    let (Some(newest), Some(_)) = (all.next(), all.next()) else {
        return Ok(false);
    };
    let description =
        format!("stripe_fdw: signing secret of the webhook endpoint of server {server}");
    if let Some(name) = current.secret_name.as_ref().or(current.secret_id.as_ref()) {
        vault_write(name, newest, &description)?;
    } else {
        set_server_options(srv, server, &[("webhook_secret", newest)])?;
    }
    Ok(true)
}
