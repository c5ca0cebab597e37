//! Test-driven webhook deliveries: sign an event as Stripe does (core's `sign_header`) and POST it.
//!
//! `POST /__webhooks/deliver` with `{"event","url","secret"|"endpoint","timestamp"?}` sends the event's
//! JSON (signed with `secret`, or with the secret issued for webhook endpoint `endpoint`)
//! with a `Stripe-Signature` header and answers `{"event","url","status"}` (`status` 0 plus `error`
//! when the URL could not be reached). A wrong secret or an old `timestamp` makes a refusable
//! delivery for negative tests. The outcome drives the event's `delivery_success`.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use crate::errors::ApiError;
use crate::http::{Request, Response};
use crate::ids::now_unix;
use crate::router::error_response;
use crate::server::{lock, Shared};

pub const DELIVER_PATH: &str = "/__webhooks/deliver";
/// How long a delivery waits for the URL to answer.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliverRequest {
    event: String,
    url: String,
    /// The secret to sign with; or `endpoint`, a webhook endpoint whose issued secret signs it.
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    endpoint: Option<String>,
    /// The signature's `t`; default now.
    #[serde(default)]
    timestamp: Option<i64>,
}

/// The raw body and `Stripe-Signature` header Stripe would send for `event_id` (any stored event,
/// even one past the retention). `None` when there is no such event.
pub fn signed(
    shared: &Shared,
    event_id: &str,
    secret: &str,
    timestamp: Option<i64>,
) -> Option<(String, String)> {
    let payload = {
        let st = lock(&shared.state);
        let event = st.events.get(event_id)?;
        serde_json::to_string_pretty(event).ok()?
    };
    let t = timestamp.unwrap_or_else(now_unix);
    let header = stripe_fdw_core::webhook::sign_header(payload.as_bytes(), secret, t);
    Some((payload, header))
}

/// Like [`signed`], for webhook endpoint `endpoint_id`: signed with the secret the fake issued for
/// it, and only for an event type the endpoint is subscribed to (Stripe sends it no other).
pub fn signed_for(
    shared: &Shared,
    event_id: &str,
    endpoint_id: &str,
) -> Result<(String, String), String> {
    let secret = {
        let st = lock(&shared.state);
        let endpoint = st
            .endpoints
            .get(endpoint_id)
            .ok_or_else(|| format!("No such webhook endpoint: '{endpoint_id}'"))?;
        let kind = st
            .events
            .get(event_id)
            .map(|e| e.kind.clone())
            .ok_or_else(|| format!("No such event: '{event_id}'"))?;
        if !crate::endpoints::subscribed(endpoint, &kind) {
            return Err(format!(
                "webhook endpoint {endpoint_id} is not subscribed to {kind} events"
            ));
        }
        st.endpoint_secrets
            .get(endpoint_id)
            .cloned()
            .ok_or_else(|| format!("No secret for webhook endpoint: '{endpoint_id}'"))?
    };
    signed(shared, event_id, &secret, None).ok_or_else(|| format!("No such event: '{event_id}'"))
}

/// POST `payload` to `url` with `header` as `Stripe-Signature`; the status the URL answered.
pub async fn post(url: &str, payload: String, header: &str) -> Result<u16, String> {
    let client = reqwest::Client::builder()
        .timeout(DELIVERY_TIMEOUT)
        .build()
        .map_err(|e| format!("could not build an HTTP client: {e}"))?;
    let resp = client
        .post(url)
        .header("Content-Type", "application/json; charset=utf-8")
        .header(
            "User-Agent",
            "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        )
        .header("Stripe-Signature", header)
        .body(payload)
        .send()
        .await
        .map_err(|e| format!("could not deliver to {url}: {e}"))?;
    Ok(resp.status().as_u16())
}

/// Sign and send `event_id` to `url`, recording whether it was delivered (a 2xx answer).
pub async fn deliver(
    shared: &Shared,
    event_id: &str,
    url: &str,
    secret: &str,
    timestamp: Option<i64>,
) -> Result<u16, String> {
    let Some((payload, header)) = signed(shared, event_id, secret, timestamp) else {
        return Err(format!("No such event: '{event_id}'"));
    };
    let result = post(url, payload, &header).await;
    let ok = matches!(result, Ok(s) if (200..300).contains(&s));
    if let Some(e) = lock(&shared.state).events.get_mut(event_id) {
        e.delivery_failed = !ok;
    }
    result
}

pub async fn handle(shared: &Arc<Shared>, req: &Request) -> Response {
    if req.method != "POST" {
        return error_response(&ApiError::not_found_url(&req.method, &req.path));
    }
    let body: DeliverRequest = match serde_json::from_slice(&req.body) {
        Ok(b) => b,
        Err(e) => {
            return error_response(&ApiError::invalid(format!("invalid JSON body: {e}"), None))
        }
    };
    if lock(&shared.state).events.get(&body.event).is_none() {
        return error_response(&ApiError::no_such("event", &body.event, "event", 404));
    }
    let secret = match (&body.secret, &body.endpoint) {
        (Some(s), None) => s.clone(),
        (None, Some(e)) => match lock(&shared.state).endpoint_secrets.get(e) {
            Some(s) => s.clone(),
            None => {
                return error_response(&ApiError::no_such("webhook_endpoint", e, "endpoint", 404))
            }
        },
        _ => {
            return error_response(&ApiError::invalid(
                "give exactly one of secret and endpoint",
                None,
            ))
        }
    };
    match deliver(shared, &body.event, &body.url, &secret, body.timestamp).await {
        Ok(status) => Response::json(
            200,
            &json!({"event": body.event, "url": body.url, "status": status}),
        ),
        Err(e) => Response::json(
            200,
            &json!({"event": body.event, "url": body.url, "status": 0, "error": e}),
        ),
    }
}
