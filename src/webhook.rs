//! The Rust half of handle_webhook() and catch_up() (sql/webhooks.sql): the endpoint secret and the
//! signature check, and the list of Stripe's events of given types since a point.
//!
//! The secret comes from the user mapping of the current user (or PUBLIC), else the server, each
//! inline (`webhook_secret`) or in Supabase Vault (`webhook_secret_id` / `webhook_secret_name`),
//! read as the current user. It never appears in an error: a refusal says only which check failed.

use crate::error::FdwError;
use crate::pgopts::options_map;
use crate::scan::{interrupted, stripe_error};
use crate::secrets::{self, NamedIn};
use crate::transport;
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::pg_sys::{self, Oid};
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;
use serde_json::Value;
use std::ffi::CStr;
use stripe_fdw_core::client::{Client, ClientConfig, ListScan};
use stripe_fdw_core::options::{parse_webhook_secret_options, ServerOptions, WebhookSecretOptions};
use stripe_fdw_core::plan::ListQuery;
use stripe_fdw_core::webhook::{key_livemode, verify, SignatureError};
use stripe_fdw_core::StripeError;

/// Stripe's `types[]` takes at most 20 exact names.
const MAX_TYPES: usize = 20;

/// Stripe's page size for events: one request per 100 events.
const PAGE: u32 = 100;

pub(crate) use crate::error::Raise;

pub(crate) fn report(code: PgSqlErrorCode, message: String, hint: Option<&str>) -> Raise {
    let r = ErrorReport::new(code, message, "stripe_fdw");
    Raise::from(match hint {
        Some(h) => r.set_hint(h),
        None => r,
    })
}

/// The server's name, options and owner, when the calling role has USAGE on it.
pub(crate) fn server(oid: Oid) -> Result<(String, ServerOptions, Oid), Raise> {
    unsafe {
        let srv = pg_sys::GetForeignServerExtended(oid, pg_sys::FSV_MISSING_OK as u16);
        if srv.is_null() {
            return Err(report(
                PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
                format!(
                    "stripe_fdw: there is no foreign server with oid {}",
                    oid.to_u32()
                ),
                None,
            ));
        }
        let name = CStr::from_ptr((*srv).servername)
            .to_string_lossy()
            .into_owned();
        // Its key and webhook secret are used only for roles that may use the server.
        let acl = pg_sys::pg_foreign_server_aclcheck(
            oid,
            pg_sys::GetUserId(),
            pg_sys::ACL_USAGE as pg_sys::AclMode,
        );
        if acl != pg_sys::AclResult::ACLCHECK_OK {
            return Err(report(
                PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
                format!("stripe_fdw: permission denied for foreign server {name}"),
                Some("Grant this role USAGE on the server (grant usage on foreign server ... to ...), or call as its owner."),
            ));
        }
        let opts = ServerOptions::parse(&options_map((*srv).options))
            .map_err(|e| Raise::from(FdwError::from(e)))?;
        Ok((name, opts, (*srv).owner))
    }
}

pub(crate) fn resolve_secret(
    s: &WebhookSecretOptions,
    named: &NamedIn,
) -> Result<Option<String>, Raise> {
    let found = if let Some(k) = &s.secret {
        Some(k.clone())
    } else if let Some(id) = &s.secret_id {
        Some(secrets::vault_secret(
            "webhook_secret_id",
            id,
            false,
            named,
        )?)
    } else if let Some(name) = &s.secret_name {
        Some(secrets::vault_secret(
            "webhook_secret_name",
            name,
            true,
            named,
        )?)
    } else {
        None
    };
    Ok(found)
}

/// The endpoint secret for `server` as the current user sees it: user mapping, else server, with
/// Vault read as src/secrets.rs says (as the user, if the server's owner has the user's privileges;
/// as the server's owner for a server option).
pub(crate) fn webhook_secret(
    oid: Oid,
    name: &str,
    opts: &ServerOptions,
    owner: Oid,
) -> Result<String, Raise> {
    let user = unsafe { pg_sys::GetUserId() };
    if let Some(mapping) = secrets::user_mapping(oid, user) {
        let um = parse_webhook_secret_options(&mapping.options)
            .map_err(|e| Raise::from(FdwError::from(e)))?;
        let named = NamedIn::Mapping {
            mapping: &mapping,
            server: name,
            owner,
            user,
        };
        if let Some(s) = resolve_secret(&um, &named)? {
            return Ok(s);
        }
    }
    if let Some(s) = resolve_secret(&opts.webhook_secret, &NamedIn::Server { owner })? {
        return Ok(s);
    }
    let role = secrets::user_name(user);
    Err(report(
        PgSqlErrorCode::ERRCODE_FDW_OPTION_NAME_NOT_FOUND,
        format!("stripe_fdw: no webhook secret for server \"{name}\""),
        Some(&format!(
            "Give the endpoint's signing secret (whsec_..., shown when you add the endpoint in Stripe): \
             alter user mapping for \"{role}\" server {name} options (add webhook_secret_name '...') with it in Supabase Vault, \
             or (add webhook_secret 'whsec_...')."
        )),
    ))
}

fn refusal(e: SignatureError) -> Raise {
    let hint = match e {
        SignatureError::Missing | SignatureError::Malformed(_) => {
            "Pass the raw request body and its Stripe-Signature header unchanged (read the body as text, not parsed JSON)."
        }
        SignatureError::NoMatch => {
            "Check that the webhook secret (webhook_secret or webhook_secret_name, on your user mapping or the server) is this endpoint's signing secret, and that the body is passed byte for byte."
        }
        SignatureError::Expired { .. } => {
            "Stripe signs each delivery when it sends it: check the database clock, or raise the server option webhook_tolerance."
        }
    };
    report(
        PgSqlErrorCode::ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
        format!("stripe_fdw: webhook refused: {e}"),
        Some(hint),
    )
}

fn verify_event(server_oid: Oid, payload: &str, header: Option<&str>) -> Result<Value, Raise> {
    let (name, opts, owner) = server(server_oid)?;
    let secret = webhook_secret(server_oid, &name, &opts, owner)?;
    let now = stripe_fdw_core::pgtime::unix_now();
    let tolerance = i64::try_from(opts.webhook_tolerance.as_secs()).unwrap_or(i64::MAX);
    verify(payload.as_bytes(), header, &secret, now, tolerance).map_err(refusal)?;
    let event: Value = serde_json::from_str(payload).unwrap_or(Value::Null);
    let ok = event.get("object").and_then(Value::as_str) == Some("event")
        && event.get("id").and_then(Value::as_str).is_some()
        && event.get("type").and_then(Value::as_str).is_some();
    if !ok {
        return Err(report(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "stripe_fdw: the signed payload is not a Stripe event (a JSON object with \"object\": \"event\", an id and a type)".into(),
            Some("Pass the raw request body unchanged."),
        ));
    }
    wrong_mode(&event, server_oid, &name, &opts, owner)?;
    wrong_account(&event, &opts)?;
    Ok(event)
}

/// One endpoint per environment: an event of live mode never reaches a database keyed for test
/// mode, nor the other way round (when the key's prefix says its mode). Nothing is written.
fn wrong_mode(
    event: &Value,
    server_oid: Oid,
    name: &str,
    opts: &ServerOptions,
    owner: Oid,
) -> Result<(), Raise> {
    let Some(live) = event.get("livemode").and_then(Value::as_bool) else {
        return Ok(());
    };
    let user = unsafe { pg_sys::GetUserId() };
    // A key that cannot be read is the retrieve's error to report, later.
    let Ok(key) = secrets::api_key(server_oid, name, &opts.secret, user, owner) else {
        return Ok(());
    };
    match key_livemode(&key) {
        Some(key_live) if key_live != live => {
            let mode = |l: bool| if l { "live" } else { "test" };
            Err(report(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!(
                    "stripe_fdw: webhook refused: a {}-mode event reached a database whose API key is a {}-mode key",
                    mode(live),
                    mode(key_live)
                ),
                Some("One endpoint per environment: register this database's endpoint in the mode of its key, with that endpoint's signing secret, and remove this URL from the other mode's endpoints."),
            ))
        }
        _ => Ok(()),
    }
}

/// One endpoint per account: an event that names its account (`account`, as Connect deliveries
/// do) is refused when the server's account is known (options `account`, else `account_id`) and is
/// another. An event that names none is its endpoint's own account's. Nothing is written.
fn wrong_account(event: &Value, opts: &ServerOptions) -> Result<(), Raise> {
    let (Some(theirs), Some(ours)) = (
        event.get("account").and_then(Value::as_str),
        opts.known_account(),
    ) else {
        return Ok(());
    };
    if theirs == ours {
        return Ok(());
    }
    Err(report(
        PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        format!(
            "stripe_fdw: webhook refused: the event is for account {theirs}, and this server reads account {ours}"
        ),
        Some("One endpoint per account: register this database's endpoint on its own account (stripe_fdw.create_webhook_endpoint), and remove this URL from the other account's endpoints; or correct the server option account_id."),
    ))
}

pub(crate) fn stripe_err(e: StripeError) -> Raise {
    Raise::from(stripe_error(e))
}

pub(crate) fn client(server_oid: Oid) -> Result<Client, Raise> {
    let (name, opts, owner) = server(server_oid)?;
    let user = unsafe { pg_sys::GetUserId() };
    let api_key = secrets::api_key(server_oid, &name, &opts.secret, user, owner)?;
    let cfg = ClientConfig::from_options(&opts, api_key);
    let t = transport::get(opts.connect_timeout).map_err(stripe_err)?;
    Client::new(t, cfg).map_err(stripe_err)
}

/// One listed event, as catch_up() needs it: its order (0 = newest), id, type, time and the
/// changed object (`data.object`), from which sql/webhooks.sql takes the ids to read again.
type EventRow = (i32, String, String, i64, Option<pgrx::JsonB>);

fn row(ord: i32, e: &Value) -> Option<EventRow> {
    Some((
        ord,
        e.get("id")?.as_str()?.to_string(),
        e.get("type")?.as_str()?.to_string(),
        e.get("created")?.as_i64()?,
        e.pointer("/data/object").cloned().map(pgrx::JsonB),
    ))
}

fn list_events(
    server_oid: Oid,
    since: Option<i64>,
    newest_only: bool,
    types: &[String],
) -> Result<Vec<EventRow>, Raise> {
    if types.is_empty() || types.len() > MAX_TYPES {
        return Err(Raise::from(FdwError::Internal(format!(
            "catch_up asks Stripe for 1 to {MAX_TYPES} event types, not {}",
            types.len()
        ))));
    }
    let c = client(server_oid)?;
    let spec = stripe_fdw_core::objects::find("events")
        .ok_or_else(|| Raise::from(FdwError::Internal("no events object".into())))?;
    let mut params: Vec<(String, String)> = types
        .iter()
        .map(|t| ("types[]".to_string(), t.clone()))
        .collect();
    if let Some(s) = since {
        params.push(("created[gte]".into(), s.to_string()));
    }
    // The client's page walk (core/src/client/pages.rs), one page at a time in Stripe's order
    // (newest first): the cursor chain, its repeated-cursor and empty-page checks.
    let query = ListQuery {
        params,
        paged: true,
    };
    let first = if newest_only { 1 } else { PAGE };
    let mut pages = ListScan::new(&c, spec, vec![query], first, 1);
    let mut out = Vec::new();
    while let Some(page) = pages.next_page(&interrupted).map_err(stripe_err)? {
        for e in &page {
            let ord = i32::try_from(out.len()).unwrap_or(i32::MAX);
            out.extend(row(ord, e));
        }
        if newest_only {
            break;
        }
    }
    Ok(out)
}

/// The SQL functions, in the extension's schema `stripe_fdw` (called by sql/webhooks.sql and
/// sql/catchup.sql).
#[pg_schema]
mod stripe_fdw {
    use crate::error::OrRaise;
    use pgrx::pg_sys::Oid;
    use pgrx::prelude::*;
    use pgrx::JsonB;

    /// Verify a webhook delivery for `server` and return its event (the parsed payload). A missing,
    /// malformed, wrong or expired signature is an ERROR with SQLSTATE 28000 saying which.
    #[pg_extern(name = "_verify_webhook")]
    #[search_path(pg_catalog, pg_temp)]
    fn verify_webhook(server: Oid, payload: &str, stripe_signature: Option<&str>) -> JsonB {
        JsonB(super::verify_event(server, payload, stripe_signature).or_raise())
    }

    /// Stripe's events of `types` (at most 20), newest first (`ord` 0 is the newest): every one
    /// created at or after `since` (Unix seconds; null: all Stripe still has), or only the newest
    /// one. One request per 100 events.
    #[pg_extern(name = "_stripe_events")]
    #[search_path(pg_catalog, pg_temp)]
    #[allow(clippy::type_complexity)]
    fn stripe_events(
        server: Oid,
        since: Option<i64>,
        newest_only: bool,
        types: Vec<String>,
    ) -> TableIterator<
        'static,
        (
            name!(ord, i32),
            name!(id, String),
            name!(event_type, String),
            name!(created, i64),
            name!(object, Option<JsonB>),
        ),
    > {
        TableIterator::new(super::list_events(server, since, newest_only, &types).or_raise())
    }
}
