//! `/v1/webhook_endpoints` (create, list, retrieve, delete) and `GET /v1/account`, in Stripe's shapes.
//!
//! Create is the only answer that carries the endpoint's signing `secret` (`whsec_...`), as in
//! Stripe; the fake keeps it apart from the object and signs deliveries to that endpoint with it
//! ([`crate::webhooks`]). At most 16 endpoints per account, as Stripe allows.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};

use crate::errors::{ApiError, ApiResult};
use crate::fields::apply_metadata;
use crate::ids::make_id;
use crate::list::{paginate, take_expand, take_list_args, Source};
use crate::model::Object;
use crate::params::Params;
use crate::state::State;

/// Stripe's limit of webhook endpoints per account (and mode).
pub const MAX_ENDPOINTS: usize = 16;

#[derive(Debug, Clone, Serialize)]
pub struct WebhookEndpoint {
    pub id: String,
    pub object: &'static str,
    pub api_version: Option<String>,
    pub application: Option<String>,
    pub created: i64,
    pub description: Option<String>,
    pub enabled_events: Vec<String>,
    pub livemode: bool,
    pub metadata: BTreeMap<String, String>,
    pub status: String,
    pub url: String,
}

impl Object for WebhookEndpoint {
    fn id(&self) -> &str {
        &self.id
    }
    fn created(&self) -> i64 {
        self.created
    }
}

fn missing(id: &str) -> ApiError {
    ApiError::no_such("webhook_endpoint", id, "webhook_endpoint", 404)
}

/// `*`, or a dotted lower-case event type such as `product.updated` or `customer.subscription.*`.
fn event_type_ok(t: &str) -> bool {
    t == "*"
        || (t.contains('.')
            && t.split('.').all(|part| {
                part == "*"
                    || (!part.is_empty()
                        && part.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
            }))
}

fn url_ok(u: &str) -> bool {
    reqwest::Url::parse(u)
        .is_ok_and(|p| (p.scheme() == "https" || p.scheme() == "http") && p.host().is_some())
}

pub fn create(st: &mut State, mut p: Params) -> ApiResult<Value> {
    p.only(&[
        "api_version",
        "connect",
        "description",
        "enabled_events",
        "expand",
        "metadata",
        "url",
    ])?;
    take_expand(&mut p)?;
    let url = p.str("url")?.unwrap_or_default();
    if url.is_empty() {
        return Err(ApiError::missing_param("url"));
    }
    if !url_ok(&url) {
        return Err(ApiError::invalid(
            format!("Invalid URL: {url}"),
            Some("url"),
        ));
    }
    let events = p.list("enabled_events")?.unwrap_or_default();
    if events.is_empty() {
        return Err(ApiError::missing_param("enabled_events"));
    }
    if let Some(bad) = events.iter().find(|e| !event_type_ok(e)) {
        return Err(ApiError::invalid(
            format!("Invalid event type: {bad}"),
            Some("enabled_events"),
        ));
    }
    let api_version = p.str("api_version")?.filter(|v| !v.is_empty());
    if p.bool("connect")? == Some(true) {
        return Err(ApiError::invalid(
            "The fake has no Connect platform: connect=true is not supported.",
            Some("connect"),
        ));
    }
    let description = p.str("description")?.filter(|d| !d.is_empty());
    let mut metadata = BTreeMap::new();
    apply_metadata(&mut p, &mut metadata)?;
    p.finish()?;
    if st.endpoints.len() >= MAX_ENDPOINTS {
        return Err(ApiError::invalid(
            format!("You have reached the maximum of {MAX_ENDPOINTS} test webhook endpoints."),
            None,
        ));
    }
    let id = loop {
        let id = make_id(&mut st.event_rng, "we_", 24);
        if !st.endpoints.contains(&id) {
            break id;
        }
    };
    let secret = make_id(&mut st.event_rng, "whsec_", 32);
    let endpoint = WebhookEndpoint {
        id: id.clone(),
        object: "webhook_endpoint",
        api_version,
        application: None,
        created: st.next_created(),
        description,
        enabled_events: events,
        livemode: false,
        metadata,
        status: "enabled".into(),
        url,
    };
    let mut out = serde_json::to_value(&endpoint).unwrap_or(Value::Null);
    if let Some(m) = out.as_object_mut() {
        m.insert("secret".into(), Value::String(secret.clone()));
    }
    st.endpoint_secrets.insert(id, secret);
    st.endpoints.push(endpoint);
    Ok(out)
}

pub fn list(st: &State, mut p: Params) -> ApiResult<Value> {
    p.only(&["ending_before", "starting_after", "expand", "limit"])?;
    let args = take_list_args(&mut p)?;
    p.finish()?;
    paginate(
        &st.endpoints,
        &args,
        Source::All,
        "webhook_endpoint",
        "/v1/webhook_endpoints",
        |_| true,
    )
}

pub fn retrieve(st: &State, id: &str, mut p: Params) -> ApiResult<Value> {
    p.only(&["expand"])?;
    take_expand(&mut p)?;
    p.finish()?;
    st.endpoints
        .get(id)
        .map(|e| serde_json::to_value(e).unwrap_or(Value::Null))
        .ok_or_else(|| missing(id))
}

pub fn delete(st: &mut State, id: &str, p: Params) -> ApiResult<Value> {
    p.finish()?;
    st.endpoints.remove(id).ok_or_else(|| missing(id))?;
    st.endpoint_secrets.remove(id);
    Ok(json!({"id": id, "object": "webhook_endpoint", "deleted": true}))
}

/// `GET /v1/account`: the account the key belongs to (the fields stripe_fdw and the tests read,
/// in Stripe's shape).
pub fn account(st: &State, mut p: Params) -> ApiResult<Value> {
    p.only(&["expand"])?;
    take_expand(&mut p)?;
    p.finish()?;
    Ok(json!({
        "id": st.account_id,
        "object": "account",
        "business_type": null,
        "charges_enabled": false,
        "country": "US",
        "created": 1_234_567_890,
        "default_currency": "usd",
        "details_submitted": false,
        "email": "site@stripe.com",
        "metadata": {},
        "payouts_enabled": false,
        "type": "standard",
    }))
}

/// Whether `endpoint` is subscribed to events of type `kind` (`*` patterns as Stripe matches them).
pub fn subscribed(endpoint: &WebhookEndpoint, kind: &str) -> bool {
    endpoint
        .enabled_events
        .iter()
        .any(|p| crate::events::type_matches(p, kind))
}
