//! The Rust half of create_webhook_endpoint() and webhook_endpoints() (sql/endpoints.sql): Stripe's
//! webhook endpoints of a server's account, made and listed with the server's key as the caller
//! sees it (src/webhook.rs `client`). The signing secret Stripe answers on create goes straight to
//! src/endpoint_secret.rs; it is in no result, message or log line.

use crate::endpoint_secret;
use crate::scan::interrupted;
use crate::webhook::{client, report, server, stripe_err, Raise};
use pgrx::pg_sys::{self, Oid};
use pgrx::PgSqlErrorCode;
use serde_json::{json, Value};
use stripe_fdw_core::client::{Client, Form};

/// Stripe's largest page.
const PAGE: &str = "100";

fn database() -> String {
    unsafe {
        let p = pg_sys::get_database_name(pg_sys::MyDatabaseId);
        if p.is_null() {
            return String::new();
        }
        std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

fn owner_only(srv: Oid, name: &str, what: &str) -> Result<(), Raise> {
    if unsafe { pg_sys::pg_foreign_server_ownercheck(srv, pg_sys::GetUserId()) } {
        return Ok(());
    }
    Err(report(
        PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
        format!("stripe_fdw: only the owner of foreign server {name} may {what}"),
        Some("Call it as the server's owner: it keeps the endpoint's signing secret where that role's handle_webhook reads it."),
    ))
}

/// The endpoint was made in Stripe, but keeping its secret failed: say which endpoint, and that
/// it must be deleted (its secret cannot be had again).
fn orphaned(id: &str, why: &str) -> Raise {
    report(
        PgSqlErrorCode::ERRCODE_FDW_ERROR,
        format!("stripe_fdw: the webhook endpoint {id} was made in Stripe, but its signing secret could not be kept: {why}"),
        Some(&format!(
            "Stripe shows a secret only once: delete endpoint {id} (Dashboard: Developers, Webhooks; or: stripe webhook_endpoints delete {id}), fix the cause, and call create_webhook_endpoint again."
        )),
    )
}

/// Keep the new secret and record the account: what create() does once Stripe made the endpoint.
fn keep(
    srv: Oid,
    name: &str,
    owner: Oid,
    opts: &stripe_fdw_core::options::ServerOptions,
    secret: &str,
    account: &str,
) -> Result<endpoint_secret::Stored, Raise> {
    let stored = endpoint_secret::store(srv, name, owner, opts, secret)?;
    endpoint_secret::set_server_options(srv, name, &[("account_id", account)])?;
    Ok(stored)
}

/// The id of the account the key reads (`GET /v1/account`; with the option `account`, that
/// connected account).
fn account_id(c: &Client) -> Result<String, Raise> {
    let acct = c
        .get_object(&["account"], &interrupted)
        .map_err(stripe_err)?;
    acct.get("id")
        .and_then(Value::as_str)
        .filter(|id| id.starts_with("acct_"))
        .map(str::to_string)
        .ok_or_else(|| {
            report(
                PgSqlErrorCode::ERRCODE_FDW_ERROR,
                "stripe_fdw: Stripe's answer to GET /v1/account has no account id".into(),
                Some("Check the server option api_url: it must point at Stripe's API."),
            )
        })
}

/// The endpoint as create_webhook_endpoint() and webhook_endpoints() show it: never the secret.
fn shown(e: &Value) -> Value {
    let keep = [
        "id",
        "url",
        "status",
        "enabled_events",
        "metadata",
        "api_version",
        "livemode",
        "created",
    ];
    let mut out = serde_json::Map::new();
    for k in keep {
        out.insert(k.into(), e.get(k).cloned().unwrap_or(Value::Null));
    }
    Value::Object(out)
}

/// Register `url` with Stripe for server `srv`, subscribed to `events`; keep its secret; return it
/// without the secret, with where the secret went.
fn create(srv: Oid, url: &str, events: &[String]) -> Result<Value, Raise> {
    let (name, opts, owner) = server(srv)?;
    owner_only(srv, &name, "register its webhook endpoint")?;
    let c = client(srv)?;
    let account = account_id(&c)?;
    // What can be checked before Stripe makes the endpoint is checked first: afterwards its
    // secret must be kept or the endpoint deleted.
    if let Some(acting) = opts.account.as_deref().filter(|a| *a != account) {
        return Err(report(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("stripe_fdw: the server's option account ({acting}) is not the account its key reads ({account})"),
            Some("Correct the server option account (the connected account the server acts for), then call create_webhook_endpoint again."),
        ));
    }
    let mut fields: Vec<(String, String)> = vec![("url".into(), url.into())];
    fields.extend(
        events
            .iter()
            .map(|e| ("enabled_events[]".into(), e.clone())),
    );
    fields.push(("metadata[database]".into(), database()));
    fields.push(("metadata[server]".into(), name.clone()));
    fields.push((
        "metadata[stripe_fdw]".into(),
        env!("CARGO_PKG_VERSION").into(),
    ));
    fields.push((
        "description".into(),
        format!("stripe_fdw: database {}, server {name}", database()),
    ));
    if let Some(v) = &opts.api_version {
        fields.push(("api_version".into(), v.clone()));
    }
    let made = c
        .post(&["webhook_endpoints"], Form::new(fields), &interrupted)
        .map_err(stripe_err)?;
    let Some(secret) = made.get("secret").and_then(Value::as_str) else {
        return Err(report(
            PgSqlErrorCode::ERRCODE_FDW_ERROR,
            "stripe_fdw: Stripe's answer to creating the webhook endpoint has no signing secret"
                .into(),
            Some("Delete the endpoint in the Dashboard (Developers, Webhooks) and try again."),
        ));
    };
    let id = made
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("(no id)")
        .to_string();
    let stored = pgrx::PgTryBuilder::new(|| keep(srv, &name, owner, &opts, secret, &account))
        .catch_others(|e| {
            let why = match &e {
                pgrx::pg_sys::panic::CaughtError::PostgresError(r)
                | pgrx::pg_sys::panic::CaughtError::ErrorReport(r)
                | pgrx::pg_sys::panic::CaughtError::RustPanic { ereport: r, .. } => {
                    r.message().to_string()
                }
            };
            Err(orphaned(&id, &why))
        })
        .execute()
        .map_err(|e| {
            let r = e.into_report();
            orphaned(&id, r.message())
        })?;
    let mut out = shown(&made);
    if let Some(m) = out.as_object_mut() {
        m.insert("account".into(), json!(account));
        m.insert("secret_stored_in".into(), json!(stored.place));
        m.insert("previous_secret_kept".into(), json!(stored.previous_kept));
    }
    Ok(out)
}

/// One listed endpoint.
type EndpointRow = (
    String,
    String,
    String,
    Vec<String>,
    pgrx::JsonB,
    Option<String>,
    i64,
    bool,
);

fn row(e: &Value) -> Option<EndpointRow> {
    let s = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_string);
    Some((
        s("id")?,
        s("url")?,
        s("status")?,
        e.get("enabled_events")?
            .as_array()?
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        pgrx::JsonB(e.get("metadata").cloned().unwrap_or(json!({}))),
        s("api_version"),
        e.get("created").and_then(Value::as_i64).unwrap_or(0),
        e.get("livemode").and_then(Value::as_bool).unwrap_or(false),
    ))
}

/// Every webhook endpoint of the server's account, newest first (one request per 100).
fn list(srv: Oid) -> Result<Vec<EndpointRow>, Raise> {
    let c = client(srv)?;
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut params = vec![("limit".to_string(), PAGE.to_string())];
        if let Some(a) = &after {
            params.push(("starting_after".into(), a.clone()));
        }
        let page = c
            .list_page("webhook_endpoints", &params, &interrupted)
            .map_err(stripe_err)?;
        out.extend(page.data.iter().filter_map(row));
        let last = page
            .data
            .last()
            .and_then(|e| e.get("id"))
            .and_then(Value::as_str)
            .map(str::to_string);
        if !page.has_more || last.is_none() || last == after {
            return Ok(out);
        }
        after = last;
    }
}

fn forget(srv: Oid) -> Result<bool, Raise> {
    let (name, opts, owner) = server(srv)?;
    owner_only(srv, &name, "forget its previous webhook secret")?;
    endpoint_secret::forget_previous(srv, &name, owner, &opts)
}

#[pgrx::pg_schema]
mod stripe_fdw {
    use crate::error::OrRaise;
    use pgrx::pg_sys::Oid;
    use pgrx::prelude::*;
    use pgrx::JsonB;

    /// Register `url` as server `server`'s webhook endpoint (the owner only), subscribed to
    /// `events`; its secret is kept, never returned.
    #[pg_extern(name = "_create_webhook_endpoint")]
    #[search_path(pg_catalog, pg_temp)]
    fn create_webhook_endpoint(server: Oid, url: &str, events: Vec<String>) -> JsonB {
        JsonB(super::create(server, url, &events).or_raise())
    }

    /// The webhook endpoints of server `server`'s account (USAGE on it needed), newest first.
    #[pg_extern(name = "_webhook_endpoints")]
    #[search_path(pg_catalog, pg_temp)]
    #[allow(clippy::type_complexity)]
    fn webhook_endpoints(
        server: Oid,
    ) -> TableIterator<
        'static,
        (
            name!(id, String),
            name!(url, String),
            name!(status, String),
            name!(enabled_events, Vec<String>),
            name!(metadata, JsonB),
            name!(api_version, Option<String>),
            name!(created, i64),
            name!(livemode, bool),
        ),
    > {
        TableIterator::new(super::list(server).or_raise())
    }

    /// Keep only the newest webhook secret of server `server` (the owner only): true when a
    /// previous one was forgotten.
    #[pg_extern(name = "_forget_previous_webhook_secret")]
    #[search_path(pg_catalog, pg_temp)]
    fn forget_previous_webhook_secret(server: Oid) -> bool {
        super::forget(server).or_raise()
    }
}
