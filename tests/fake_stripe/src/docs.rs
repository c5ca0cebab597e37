//! The objects beyond the catalog (customers, subscriptions, invoices, ... 22 kinds), kept as JSON
//! documents, and their list and retrieve endpoints, strict per Stripe's spec: the parameters of
//! each list, their kinds, enums and required ones come from core/testdata/stripe_api.json (made
//! from Stripe's openapi repository), so an unknown parameter or value is a 400 as in Stripe.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Serialize;
use serde_json::{json, Value};

use crate::errors::{ApiError, ApiResult};
use crate::list::{paginate, take_list_args, take_range, Source};
use crate::model::Object;
use crate::params::{one_of, Params};
use crate::state::State;
use crate::store::Table;

/// One stored object: its JSON as served, and what Stripe keeps but does not show.
#[derive(Debug, Clone)]
pub struct Doc {
    pub id: String,
    pub created: i64,
    pub value: Value,
    /// Not part of the object (a checkout session's line items).
    pub private: Value,
}

impl Doc {
    pub fn new(value: Value) -> Option<Doc> {
        Some(Doc {
            id: value.get("id")?.as_str()?.to_string(),
            created: value.get("created").and_then(Value::as_i64).unwrap_or(0),
            value,
            private: Value::Null,
        })
    }
}

impl Object for Doc {
    fn id(&self) -> &str {
        &self.id
    }
    fn created(&self) -> i64 {
        self.created
    }
}

impl Serialize for Doc {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(s)
    }
}

/// Stripe's endpoints served from documents: (endpoint, object type, id prefix).
pub const KINDS: &[(&str, &str, &str)] = &[
    ("accounts", "account", "acct_"),
    ("balance", "balance", ""),
    ("balance_transactions", "balance_transaction", "txn_"),
    ("charges", "charge", "ch_"),
    ("checkout/sessions", "checkout.session", "cs_test_"),
    ("customers", "customer", "cus_"),
    ("disputes", "dispute", "dp_"),
    ("files", "file", "file_"),
    ("file_links", "file_link", "link_"),
    ("invoices", "invoice", "in_"),
    ("mandates", "mandate", "mandate_"),
    ("billing/meters", "billing.meter", "mtr_"),
    ("payment_intents", "payment_intent", "pi_"),
    ("payouts", "payout", "po_"),
    ("refunds", "refund", "re_"),
    ("setup_attempts", "setup_attempt", "setatt_"),
    ("setup_intents", "setup_intent", "seti_"),
    ("subscriptions", "subscription", "sub_"),
    ("subscription_items", "subscription_item", "si_"),
    ("tokens", "token", "tok_"),
    ("topups", "topup", "tu_"),
    ("transfers", "transfer", "tr_"),
];

/// The endpoint `path` (below /v1) is, and the id after it: `checkout/sessions/cs_1` is
/// (`checkout/sessions`, `Some("cs_1")`).
pub fn route(path: &str) -> Option<(&'static str, Option<&str>)> {
    KINDS.iter().find_map(|(ep, _, _)| {
        if path == *ep {
            return Some((*ep, None));
        }
        let id = path.strip_prefix(ep)?.strip_prefix('/')?;
        (!id.is_empty() && !id.contains('/')).then_some((*ep, Some(id)))
    })
}

pub fn object_type(endpoint: &str) -> &'static str {
    KINDS
        .iter()
        .find(|(ep, _, _)| *ep == endpoint)
        .map_or("object", |(_, t, _)| t)
}

/// The stripe_api.json the spec check of core reads: list parameters per endpoint, fixtures.
pub fn api() -> &'static Value {
    static API: OnceLock<Value> = OnceLock::new();
    API.get_or_init(|| {
        serde_json::from_str(include_str!("../../../core/testdata/stripe_api.json"))
            .unwrap_or(Value::Null)
    })
}

/// The current (2026) example object of a type, from Stripe's fixtures.
pub fn fixture(object_type: &str) -> Value {
    api()["objects"][object_type]["fixture"].clone()
}

/// What a list request asks for beyond `limit`, cursors, `created` and `expand`.
enum Want {
    Text(String),
    Bool(bool),
    Range(Option<i64>, Option<i64>),
    Email(String),
}

/// Check the parameters of `GET /v1/<endpoint>` against the spec and take them apart.
fn take_filters(endpoint: &str, p: &mut Params) -> ApiResult<Vec<(String, Want)>> {
    let spec = &api()["endpoints"][endpoint];
    let Some(list) = spec["list"].as_object() else {
        return Err(ApiError::not_found_url("GET", &format!("/v1/{endpoint}")));
    };
    let names: Vec<&str> = list.keys().map(String::as_str).collect();
    p.only(&names)?;
    for r in spec["required"].as_array().into_iter().flatten() {
        if let Some(r) = r.as_str().filter(|r| !p.has(r)) {
            return Err(ApiError::missing_param(r));
        }
    }
    let mut out = Vec::new();
    for (name, kind) in list {
        if !p.has(name)
            || [
                "limit",
                "starting_after",
                "ending_before",
                "expand",
                "created",
            ]
            .contains(&name.as_str())
        {
            continue;
        }
        let want = match kind["type"].as_str() {
            Some("range") => {
                let (lo, hi) = take_range(p, name)?;
                Want::Range(lo, hi)
            }
            Some("boolean") => Want::Bool(p.bool(name)?.unwrap_or(false)),
            Some("object") if name == "customer_details" => {
                let mut m = p.map(name)?.flatten().unwrap_or_default();
                let email = m
                    .str("email")?
                    .ok_or_else(|| ApiError::missing_param("customer_details[email]"))?;
                m.finish()?;
                Want::Email(email)
            }
            Some("object") => {
                return Err(ApiError::invalid(
                    format!("The fake does not filter on {name}"),
                    Some(name),
                ))
            }
            _ => {
                let v = p.str(name)?.unwrap_or_default();
                if let Some(allowed) = kind["enum"].as_array() {
                    let allowed: Vec<&str> = allowed.iter().filter_map(Value::as_str).collect();
                    if !allowed.contains(&v.as_str()) {
                        return Err(ApiError::invalid(
                            format!("Invalid {name}: must be one of {}", one_of(&allowed)),
                            Some(name),
                        ));
                    }
                }
                Want::Text(v)
            }
        };
        out.push((name.clone(), want));
    }
    Ok(out)
}

fn id_of(v: &Value) -> Option<&str> {
    v.as_str().or_else(|| v.get("id").and_then(Value::as_str))
}

/// Does `obj` match one list filter, as Stripe reads it for this endpoint?
fn matches(endpoint: &str, obj: &Value, name: &str, want: &Want) -> bool {
    match (endpoint, name, want) {
        ("subscriptions", "status", Want::Text(s)) => {
            let status = obj["status"].as_str().unwrap_or("");
            match s.as_str() {
                "all" => true,
                "ended" => status == "canceled" || status == "incomplete_expired",
                s => status == s,
            }
        }
        ("subscriptions", "price", Want::Text(price)) => obj["items"]["data"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|i| id_of(&i["price"]) == Some(price)),
        ("subscriptions", "automatic_tax", _) => true,
        ("invoices", "subscription", Want::Text(s)) => {
            id_of(&obj["subscription"]) == Some(s)
                || id_of(&obj["parent"]["subscription_details"]["subscription"]) == Some(s)
        }
        (_, _, Want::Email(e)) => obj["customer_details"]["email"].as_str() == Some(e),
        (_, _, Want::Text(v)) => id_of(&obj[name]) == Some(v),
        (_, _, Want::Bool(b)) => obj[name].as_bool() == Some(*b),
        (_, _, Want::Range(lo, hi)) => obj[name]
            .as_i64()
            .is_some_and(|t| lo.is_none_or(|lo| t >= lo) && hi.is_none_or(|hi| t <= hi)),
    }
}

/// `GET /v1/<endpoint>`: newest first, filtered as Stripe filters.
pub fn list(state: &State, endpoint: &str, mut p: Params) -> ApiResult<Value> {
    if endpoint == "balance" {
        return single(state, endpoint, p);
    }
    let filters = take_filters(endpoint, &mut p)?;
    let args = take_list_args(&mut p)?;
    p.finish()?;
    // Stripe's subscription list leaves canceled subscriptions out unless a status is given.
    let default_active = endpoint == "subscriptions" && !filters.iter().any(|(n, _)| n == "status");
    let empty = Table::default();
    let table = state.docs.get(endpoint).unwrap_or(&empty);
    let what = object_type(endpoint).replace('.', "_");
    paginate(
        table,
        &args,
        Source::All,
        &what,
        &format!("/v1/{endpoint}"),
        |d| {
            !(default_active && d.value["status"] == "canceled")
                && filters
                    .iter()
                    .all(|(n, w)| matches(endpoint, &d.value, n, w))
        },
    )
}

/// `GET /v1/balance`: the one balance.
fn single(state: &State, endpoint: &str, mut p: Params) -> ApiResult<Value> {
    p.only(&["expand"])?;
    crate::list::take_expand(&mut p)?;
    p.finish()?;
    let mut balance = state
        .docs
        .get(endpoint)
        .and_then(|t| t.iter().next())
        .map_or_else(
            || json!({"object": "balance", "available": [], "pending": [], "livemode": false}),
            |d| d.value.clone(),
        );
    // Stored under an id of its own; Stripe's balance has none.
    if let Some(m) = balance.as_object_mut() {
        m.remove("id");
    }
    Ok(balance)
}

/// `GET /v1/<endpoint>/<id>`.
pub fn retrieve(state: &State, endpoint: &str, id: &str, mut p: Params) -> ApiResult<Value> {
    if api()["endpoints"][endpoint]["retrieve"] != true {
        return Err(ApiError::not_found_url(
            "GET",
            &format!("/v1/{endpoint}/{id}"),
        ));
    }
    p.only(&["expand"])?;
    crate::list::take_expand(&mut p)?;
    p.finish()?;
    let what = object_type(endpoint).replace('.', "_");
    if let Some(d) = state.docs.get(endpoint).and_then(|t| t.get(id)) {
        return Ok(d.value.clone());
    }
    // A deleted customer is still retrievable, as the deletion stub.
    if endpoint == "customers" && state.deleted.contains(id) {
        return Ok(json!({"id": id, "object": "customer", "deleted": true}));
    }
    Err(ApiError::no_such(&what, id, "id", 404))
}

/// The documents of every kind, each table oldest first.
pub type Docs = HashMap<&'static str, Table<Doc>>;

/// Add `value` to the `endpoint` table of `docs` (its `created` at or after every other's).
pub fn insert(docs: &mut Docs, endpoint: &'static str, value: Value) -> Option<()> {
    let doc = Doc::new(value)?;
    let table = docs.entry(endpoint).or_default();
    if table.contains(&doc.id) {
        return None;
    }
    if table.max_created().is_some_and(|m| m > doc.created) {
        let mut all: Vec<Doc> = table.iter().cloned().collect();
        all.push(doc);
        *table = Table::from_vec(all).ok()?;
    } else {
        table.push(doc);
    }
    Some(())
}
