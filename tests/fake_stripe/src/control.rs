//! Test control endpoints (no auth, not logged): `/__log`, `/__faults`, `/__holds`, `/__reset`,
//! `/__events/age`, `/__checkout/complete`.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;

use crate::errors::ApiError;
use crate::faults::FaultConfig;
use crate::holds::HoldRule;
use crate::http::{Request, Response};
use crate::router::error_response;
use crate::server::{lock, Shared};
use crate::{seed, Catalog};

/// Body of `POST /__reset`; all fields optional (`{}` = the catalog the server started with).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    /// "demo" or "empty".
    #[serde(default)]
    pub catalog: Option<String>,
    #[serde(default)]
    pub products: Option<usize>,
    #[serde(default)]
    pub prices_per_product: Option<usize>,
    #[serde(default)]
    pub seed: Option<u64>,
    /// Path of a `{"products":[...],"prices":[...]}` file.
    #[serde(default)]
    pub fixture: Option<PathBuf>,
}

impl ResetRequest {
    pub fn catalog(&self, initial: &Catalog) -> Result<Catalog, String> {
        if let Some(n) = self.products {
            return Ok(Catalog::Generated {
                products: n,
                prices_per_product: self.prices_per_product.unwrap_or(3),
                seed: self.seed.unwrap_or(0),
            });
        }
        if let Some(f) = &self.fixture {
            return Ok(Catalog::File(f.clone()));
        }
        match self.catalog.as_deref() {
            None => Ok(initial.clone()),
            Some("demo") => Ok(Catalog::Demo),
            Some("empty") => Ok(Catalog::Empty),
            Some(other) => Err(format!("unknown catalog {other:?} (demo|empty)")),
        }
    }
}

/// Body of `POST /__events/age`: move every existing event this many seconds into the past.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgeRequest {
    pub seconds: i64,
}

/// Body of `POST /__checkout/complete`: the Checkout Session a customer completes.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompleteRequest {
    pub session: String,
}

/// Complete a Checkout Session and record its events (as a request of its own would).
pub fn complete_checkout(shared: &Arc<Shared>, id: &str) -> Result<serde_json::Value, ApiError> {
    let mut st = lock(&shared.state);
    st.changes.clear();
    match crate::checkout::complete(&mut st, id) {
        Ok(v) => {
            crate::events::commit(&mut st, &crate::ids::request_id(), None);
            Ok(v)
        }
        Err(e) => {
            st.changes.clear();
            Err(e)
        }
    }
}

/// Body of `POST /__holds/release`: how many of the oldest parked requests to wake (all when absent).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRequest {
    #[serde(default)]
    pub count: Option<usize>,
}

fn bad_request(msg: String) -> Response {
    error_response(&ApiError::invalid(msg, None))
}

fn ok() -> Response {
    Response::json(200, &json!({"ok": true}))
}

/// Parse an optional JSON body (empty = default).
fn body<T: for<'de> Deserialize<'de> + Default>(req: &Request) -> Result<T, String> {
    if req.body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(T::default());
    }
    serde_json::from_slice(&req.body).map_err(|e| format!("invalid JSON body: {e}"))
}

pub fn handle(shared: &Arc<Shared>, req: &Request) -> Response {
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/__log") => {
            let log = lock(&shared.log).clone();
            Response::json(200, &serde_json::to_value(log).unwrap_or_default())
        }
        ("DELETE", "/__log") => {
            lock(&shared.log).clear();
            ok()
        }
        ("GET", "/__faults") => {
            let cfg = lock(&shared.faults).config().clone();
            Response::json(200, &serde_json::to_value(cfg).unwrap_or_default())
        }
        ("POST", "/__faults") => match body::<FaultConfig>(req) {
            Ok(cfg) => {
                let out = serde_json::to_value(&cfg).unwrap_or_default();
                lock(&shared.faults).set(cfg);
                Response::json(200, &out)
            }
            Err(e) => bad_request(e),
        },
        ("DELETE", "/__faults") => {
            lock(&shared.faults).set(FaultConfig::default());
            ok()
        }
        ("GET", "/__holds") => {
            let mut holds = lock(&shared.holds);
            let rules = serde_json::to_value(holds.rules()).unwrap_or_default();
            Response::json(200, &json!({"waiting": holds.waiting(), "rules": rules}))
        }
        ("POST", "/__holds") => match body::<HoldRule>(req) {
            Ok(rule) => {
                let out = serde_json::to_value(&rule).unwrap_or_default();
                lock(&shared.holds).add(rule);
                Response::json(200, &out)
            }
            Err(e) => bad_request(e),
        },
        ("DELETE", "/__holds") => {
            let released = lock(&shared.holds).clear();
            Response::json(200, &json!({"ok": true, "released": released}))
        }
        ("POST", "/__holds/release") => match body::<ReleaseRequest>(req) {
            Ok(r) => {
                let released = lock(&shared.holds).release(r.count);
                Response::json(200, &json!({"released": released}))
            }
            Err(e) => bad_request(e),
        },
        ("POST", "/__checkout/complete") => match body::<CompleteRequest>(req) {
            Ok(c) => match complete_checkout(shared, &c.session) {
                Ok(v) => Response::json(200, &v),
                Err(e) => error_response(&e),
            },
            Err(e) => bad_request(e),
        },
        ("POST", "/__events/age") => match body::<AgeRequest>(req) {
            Ok(a) if a.seconds >= 0 => {
                let mut st = lock(&shared.state);
                st.age_events(a.seconds);
                Response::json(200, &json!({"ok": true, "events": st.events.len()}))
            }
            Ok(_) => bad_request("seconds must be >= 0 (events only move into the past)".into()),
            Err(e) => bad_request(e),
        },
        ("POST", "/__reset") => {
            let catalog = body::<ResetRequest>(req).and_then(|r| r.catalog(&shared.catalog));
            let catalog = match catalog {
                Ok(c) => c,
                Err(e) => return bad_request(e),
            };
            match seed::build(&catalog) {
                Ok(state) => {
                    let counts = json!({"ok": true, "products": state.products.len(), "prices": state.prices.len()});
                    *lock(&shared.state) = state;
                    lock(&shared.log).clear();
                    lock(&shared.faults).set(FaultConfig::default());
                    lock(&shared.holds).clear();
                    Response::json(200, &counts)
                }
                Err(e) => bad_request(format!("could not build catalog: {e}")),
            }
        }
        _ => error_response(&ApiError::not_found_url(&req.method, &req.path)),
    }
}
