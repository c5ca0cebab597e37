//! Request dispatch: control endpoints, then `/v1` with latency, holds, faults, logging, auth and
//! routing.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::auth;
use crate::control;
use crate::errors::{ApiError, ApiResult};
use crate::faults::{FaultKind, FaultRule};
use crate::holds::HoldWhen;
use crate::http::{decode_pairs, Request, Response};
use crate::ids::request_id;
use crate::log::LogEntry;
use crate::params::Params;
use crate::server::{lock, Shared};
use crate::state::State;
use crate::{checkout, docs, endpoints, events, events_api, prices, products, subscriptions};
use crate::{webhooks, writes};

/// What the connection should do with a request.
pub enum Outcome {
    Reply(Response),
    /// Close without answering.
    Drop,
    /// Never answer; wait for the client to go away.
    Hang,
    /// Send the head and half of this response's body, then close.
    Truncated(Response),
}

pub fn error_response(e: &ApiError) -> Response {
    let resp = Response::json(e.status, &e.body());
    if e.status == 401 {
        resp.header("WWW-Authenticate", "Basic realm=\"Stripe\"")
    } else {
        resp
    }
}

pub async fn handle(shared: &Arc<Shared>, req: Request) -> Outcome {
    let rid = request_id();
    let outcome = if req.path == webhooks::DELIVER_PATH {
        Outcome::Reply(webhooks::handle(shared, &req).await)
    } else if req.path.starts_with("/__") {
        Outcome::Reply(control::handle(shared, &req))
    } else if req.path == "/v1" || req.path.starts_with("/v1/") {
        api_with_faults(shared, &req, &rid).await
    } else {
        Outcome::Reply(error_response(&ApiError::not_found_url(
            &req.method,
            &req.path,
        )))
    };
    match outcome {
        Outcome::Reply(r) if r.headers.iter().any(|(k, _)| k == "Request-Id") => Outcome::Reply(r),
        Outcome::Reply(r) => Outcome::Reply(r.header("Request-Id", &rid)),
        Outcome::Truncated(r) => Outcome::Truncated(r.header("Request-Id", &rid)),
        other => other,
    }
}

async fn api_with_faults(shared: &Arc<Shared>, req: &Request, rid: &str) -> Outcome {
    let latency = lock(&shared.faults).latency_ms();
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let hold = lock(&shared.holds).check(&req.method, &req.path);
    if hold == Some(HoldWhen::Before) {
        park(shared).await;
    }
    let fault = lock(&shared.faults).check(&req.method, &req.path);
    let (outcome, status) = match &fault {
        None => {
            let r = api(shared, req, rid);
            let s = r.status;
            (Outcome::Reply(r), s)
        }
        Some(rule) => apply_fault(shared, req, rule, rid),
    };
    if hold == Some(HoldWhen::After) {
        park(shared).await;
    }
    lock(&shared.log).push(LogEntry {
        method: req.method.clone(),
        path: req.path.clone(),
        query: decode_pairs(req.query.as_bytes()),
        form: (req.method == "POST").then(|| decode_pairs(&req.body)),
        status,
        fault: fault.map(|f| f.kind.name().to_string()),
        headers: logged_headers(req),
    });
    outcome
}

/// Wait until a test releases this request (no lock is held while waiting).
async fn park(shared: &Arc<Shared>) {
    let released = lock(&shared.holds).park();
    // Err: the holds were dropped without a send, which frees the request just the same.
    let _ = released.await;
}

fn apply_fault(shared: &Arc<Shared>, req: &Request, rule: &FaultRule, rid: &str) -> (Outcome, u16) {
    match rule.kind {
        FaultKind::Status => {
            let status = rule.status.unwrap_or(500);
            let mut r = error_response(&ApiError::for_status(status));
            if let Some(b) = rule.should_retry {
                r = r.header("Stripe-Should-Retry", if b { "true" } else { "false" });
            }
            if let Some(s) = rule.retry_after {
                r = r.header("Retry-After", &s.to_string());
            }
            (Outcome::Reply(r), status)
        }
        FaultKind::EchoKey => {
            let sent = req.header("authorization").unwrap_or("").to_string();
            let status = rule.status.unwrap_or(400);
            let body = if status == 200 {
                json!({"object": sent, "data": [], "has_more": false})
            } else {
                json!({"error": {
                    "type": sent, "code": sent, "param": sent, "message": sent, "doc_url": sent
                }})
            };
            let r = Response::json(status, &body).header("Request-Id", &sent);
            (Outcome::Reply(r), status)
        }
        FaultKind::Drop => (Outcome::Drop, 0),
        FaultKind::Hang => (Outcome::Hang, 0),
        FaultKind::Malformed => {
            let r = Response {
                status: 200,
                headers: vec![("Content-Type".into(), "application/json".into())],
                body: b"<html><body><h1>502 Bad Gateway</h1></body></html>\n{\"object\": \"list\", \"data\": [".to_vec(),
            };
            (Outcome::Reply(r), 200)
        }
        FaultKind::Truncated => {
            let mut r = api(shared, req, rid);
            r.status = 200;
            if r.body.len() < 64 {
                let filler = serde_json::json!({"object": "list", "data": [], "has_more": false, "url": req.path});
                r.body = serde_json::to_vec_pretty(&filler).unwrap_or_default();
            }
            (Outcome::Truncated(r), 200)
        }
        FaultKind::Oversize => {
            let r = api(shared, req, rid);
            let size = rule.size_bytes.unwrap_or(20 * 1024 * 1024);
            (Outcome::Reply(oversize(r, size)), 200)
        }
    }
}

/// Pad a successful JSON body to about `size` bytes, keeping it valid JSON.
fn oversize(mut r: Response, size: usize) -> Response {
    r.status = 200;
    let mut v: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    let padding = "x".repeat(size);
    let is_list = v.get("data").and_then(|d| d.get(0)).is_some();
    let is_object = v.get("object").is_some() && v.get("id").is_some();
    let target = if is_list {
        v.get_mut("data").and_then(|d| d.get_mut(0))
    } else if is_object {
        Some(&mut v)
    } else {
        None
    };
    match target {
        Some(obj) => {
            let key = if obj.get("object").and_then(Value::as_str) == Some("price") {
                "nickname"
            } else {
                "description"
            };
            if let Some(m) = obj.as_object_mut() {
                m.insert(key.to_string(), Value::String(padding));
            }
            r.body = serde_json::to_vec(&v).unwrap_or_default();
        }
        None => {
            // Nothing to pad: valid JSON followed by whitespace.
            r.body.extend(std::iter::repeat_n(b' ', size));
        }
    }
    r
}

fn api(shared: &Arc<Shared>, req: &Request, rid: &str) -> Response {
    match api_inner(shared, req, rid) {
        Ok(v) => Response::json(200, &v),
        Err(e) => error_response(&e),
    }
}

fn api_inner(shared: &Arc<Shared>, req: &Request, rid: &str) -> ApiResult<Value> {
    auth::check(req.header("authorization"), &shared.api_keys)?;
    let mut pairs = decode_pairs(req.query.as_bytes());
    if req.method == "POST" {
        pairs.extend(decode_pairs(&req.body));
    }
    let rest = req.path.trim_start_matches("/v1").trim_start_matches('/');
    let segs: Vec<&str> = rest.split('/').collect();
    let matched = match (req.method.as_str(), segs.as_slice()) {
        (m, ["products" | "prices" | "events", rest @ ..]) if rest.len() <= 1 => {
            let id = rest.first().copied();
            match (m, segs[0], id) {
                (_, _, Some("")) => None,
                ("GET", _, _) => Some((m, segs[0], id)),
                ("POST", "products" | "prices", _) => Some((m, segs[0], id)),
                ("DELETE", "products", Some(_)) => Some((m, segs[0], id)),
                _ => None,
            }
        }
        ("GET", ["account"]) => Some(("GET", "account", None)),
        (m @ ("GET" | "POST"), ["webhook_endpoints"]) => Some((m, "webhook_endpoints", None)),
        (m @ ("GET" | "DELETE"), ["webhook_endpoints", id]) if !id.is_empty() => {
            Some((m, "webhook_endpoints", Some(*id)))
        }
        _ => match docs::route(rest) {
            Some((ep, id)) if doc_method(&req.method, ep, id.is_some()) => {
                Some((req.method.as_str(), ep, id))
            }
            _ => None,
        },
    };
    let Some((method, resource, id)) = matched else {
        return Err(ApiError::not_found_url(&req.method, &req.path));
    };
    let params = Params::parse(&pairs)?;
    let mut st = lock(&shared.state);
    st.changes.clear();
    let result = route(&mut st, method, resource, id, params);
    match &result {
        Ok(_) => events::commit(&mut st, rid, req.header("idempotency-key")),
        Err(_) => st.changes.clear(),
    }
    result
}

fn route(
    st: &mut State,
    method: &str,
    resource: &str,
    id: Option<&str>,
    params: Params,
) -> ApiResult<Value> {
    match (method, resource, id) {
        ("GET", "products", None) => products::list(st, params),
        ("POST", "products", None) => products::create(st, params),
        ("GET", "products", Some(id)) => products::retrieve(st, id, params),
        ("POST", "products", Some(id)) => products::update(st, id, params),
        ("DELETE", "products", Some(id)) => products::delete(st, id, params),
        ("GET", "prices", None) => prices::list(st, params),
        ("POST", "prices", None) => prices::create(st, params),
        ("GET", "prices", Some(id)) => prices::retrieve(st, id, params),
        ("POST", "prices", Some(id)) => prices::update(st, id, params),
        ("GET", "events", None) => events_api::list(st, params),
        ("GET", "events", Some(id)) => events_api::retrieve(st, id, params),
        ("GET", "account", None) => endpoints::account(st, params),
        ("GET", "webhook_endpoints", None) => endpoints::list(st, params),
        ("POST", "webhook_endpoints", None) => endpoints::create(st, params),
        ("GET", "webhook_endpoints", Some(id)) => endpoints::retrieve(st, id, params),
        ("DELETE", "webhook_endpoints", Some(id)) => endpoints::delete(st, id, params),
        ("GET", ep, None) => docs::list(st, ep, params),
        ("GET", ep, Some(id)) => docs::retrieve(st, ep, id, params),
        ("POST", "subscriptions", None) => subscriptions::create(st, params),
        ("POST", "subscriptions", Some(id)) => subscriptions::update(st, id, params),
        ("DELETE", "subscriptions", Some(id)) => subscriptions::cancel(st, id, params),
        ("POST", "checkout/sessions", None) => checkout::create(st, params),
        ("POST", ep, None) => writes::create(st, ep, params),
        ("POST", ep, Some(id)) => writes::update(st, ep, id, params),
        ("DELETE", ep, Some(id)) => writes::delete(st, ep, id, params),
        _ => Err(ApiError::not_found_url(method, &format!("/v1/{resource}"))),
    }
}

/// Which methods the document endpoints take (GET lists and retrieves; writes where Stripe has
/// them and the fake models them).
fn doc_method(method: &str, endpoint: &str, has_id: bool) -> bool {
    match (method, endpoint, has_id) {
        ("GET", _, _) => true,
        ("POST", "subscriptions", _) | ("DELETE", "subscriptions", true) => true,
        ("POST", "checkout/sessions", false) => true,
        (m, ep, id) => writes::writable(m, ep, id),
    }
}

/// The request headers a test may assert on (never Authorization: the log is not a secret store).
fn logged_headers(req: &crate::http::Request) -> Vec<(String, String)> {
    req.headers
        .iter()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            k == "stripe-version"
                || k == "stripe-account"
                || k == "user-agent"
                || k == "idempotency-key"
        })
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect()
}
