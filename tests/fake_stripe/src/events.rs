//! Stripe events: what every change made through the API records (`evt_...`, Stripe's shape).
//!
//! Handlers call [`State::note`] as they change an object; the router turns those notes into events
//! once the request has succeeded ([`commit`]), so a refused request records nothing. The seeded
//! catalog records no events: it stands for objects created before the app existed, and more than
//! 30 days ago as far as the events API is concerned.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::ids::{make_id, now_unix};
use crate::model::Object;
use crate::state::State;

/// The API version events are rendered with (the fake's only version).
pub const API_VERSION: &str = "2026-10-28.endive";
/// Stripe keeps events for 30 days; older ones are neither listed nor retrievable.
pub const RETENTION_SECS: i64 = 30 * 24 * 3600;
pub const EVENT_ID_LEN: usize = 24;

#[derive(Debug, Clone, Serialize)]
pub struct EventData {
    pub object: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_attributes: Option<Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventRequest {
    pub id: Option<String>,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub id: String,
    pub object: &'static str,
    pub api_version: Option<String>,
    pub created: i64,
    pub data: EventData,
    pub livemode: bool,
    /// Always 0: the fake has no registered endpoints; deliveries are driven by tests.
    pub pending_webhooks: i64,
    pub request: Option<EventRequest>,
    #[serde(rename = "type")]
    pub kind: String,
    /// The last test-driven delivery got no 2xx (drives `delivery_success=false`).
    #[serde(skip)]
    pub delivery_failed: bool,
}

impl Object for Event {
    fn id(&self) -> &str {
        &self.id
    }
    fn created(&self) -> i64 {
        self.created
    }
}

/// A change noted by a handler, waiting for the request to succeed.
#[derive(Debug, Clone)]
pub struct Change {
    pub kind: String,
    pub object: Value,
    pub previous: Option<Value>,
}

/// Old values of what changed from `before` to `after`, Stripe's `previous_attributes`: nested
/// hashes (metadata, recurring...) keep only their changed keys, a key that did not exist is null.
pub fn previous_attributes(before: &Value, after: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    let (Some(b), Some(a)) = (before.as_object(), after.as_object()) else {
        return out;
    };
    for (k, old) in b {
        let new = a.get(k).unwrap_or(&Value::Null);
        if old == new {
            continue;
        }
        let v = if old.is_object() && new.is_object() {
            Value::Object(previous_attributes(old, new))
        } else {
            old.clone()
        };
        out.insert(k.clone(), v);
    }
    for k in a.keys().filter(|k| !b.contains_key(*k)) {
        out.insert(k.clone(), Value::Null);
    }
    out
}

impl State {
    /// Note a change: `kind` is e.g. `product.updated`, `object` the object after it (for a
    /// deletion, as it was). An update passes the object before it; one that changed nothing but
    /// the `updated` timestamp records nothing.
    pub fn note(&mut self, kind: &str, object: Value, before: Option<&Value>) {
        let previous = match before {
            None => None,
            Some(b) => {
                let prev = previous_attributes(b, &object);
                if prev.keys().all(|k| k == "updated") {
                    return;
                }
                Some(Value::Object(prev))
            }
        };
        self.changes.push(Change {
            kind: kind.to_string(),
            object,
            previous,
        });
    }

    /// The oldest `created` an event may have to still be listed or retrieved.
    pub fn retention_cutoff(&self) -> i64 {
        now_unix() - RETENTION_SECS
    }

    /// Move every stored event `seconds` into the past (order unchanged).
    pub fn age_events(&mut self, seconds: i64) {
        for e in self.events.iter_mut() {
            e.created = e.created.saturating_sub(seconds);
        }
    }
}

/// Turn the request's noted changes into events (in the order noted).
pub fn commit(state: &mut State, request_id: &str, idempotency_key: Option<&str>) {
    let changes = std::mem::take(&mut state.changes);
    for c in changes {
        let created = now_unix().max(state.events.max_created().unwrap_or(i64::MIN));
        let id = loop {
            let id = make_id(&mut state.event_rng, "evt_", EVENT_ID_LEN);
            if !state.events.contains(&id) {
                break id;
            }
        };
        state.events.push(Event {
            id,
            object: "event",
            api_version: Some(API_VERSION.to_string()),
            created,
            data: EventData {
                object: c.object,
                previous_attributes: c.previous,
            },
            livemode: false,
            pending_webhooks: 0,
            request: Some(EventRequest {
                id: Some(request_id.to_string()),
                idempotency_key: idempotency_key.map(str::to_string),
            }),
            kind: c.kind,
            delivery_failed: false,
        });
    }
}

/// Stripe's `type` filter: `*` matches any run of characters (dots included), all else literally.
pub fn type_matches(pattern: &str, kind: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return pattern == kind;
    };
    let Some(mut rest) = kind.strip_prefix(first) else {
        return false;
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wildcards() {
        for (p, k, want) in [
            ("product.*", "product.updated", true),
            ("product.*", "price.updated", false),
            ("product.*", "product.", true),
            ("*", "anything", true),
            ("*.updated", "price.updated", true),
            ("customer.*", "customer.subscription.created", true),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXcYb", false),
            ("ab*ba", "aba", false),
            ("price.updated", "price.updated", true),
            ("price.updated", "price.updated2", false),
        ] {
            assert_eq!(type_matches(p, k), want, "{p} ~ {k}");
        }
    }

    #[test]
    fn previous_attributes_keeps_old_values_of_what_changed() {
        let before =
            json!({"name": "A", "active": true, "metadata": {"a": "1", "b": "2"}, "url": null});
        let after =
            json!({"name": "B", "active": true, "metadata": {"a": "1", "c": "3"}, "url": "x"});
        assert_eq!(
            Value::Object(previous_attributes(&before, &after)),
            json!({"name": "A", "metadata": {"b": "2", "c": null}, "url": null})
        );
    }
}
