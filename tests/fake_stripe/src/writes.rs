//! Create, update and delete of customers, invoices, payment intents and charges (the fields an app
//! sets; anything else is an unknown parameter), each noting the event Stripe sends for it.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::docs::{fixture, insert};
use crate::errors::{ApiError, ApiResult};
use crate::fields::apply_metadata;
use crate::params::Params;
use crate::state::State;

/// One writable field: its parameter and how it is read.
#[derive(Clone, Copy)]
enum Field {
    /// A string; empty unsets it (null).
    Str(&'static str),
    Int(&'static str),
    Bool(&'static str),
    Enum(&'static str, &'static [&'static str]),
    /// The id of an existing customer.
    Customer,
    /// `k[]=...`, kept as an array of strings.
    List(&'static str),
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Str(n) | Field::Int(n) | Field::Bool(n) | Field::Enum(n, _) | Field::List(n) => {
                n
            }
            Field::Customer => "customer",
        }
    }
}

/// How one kind of object is written.
struct Kind {
    endpoint: &'static str,
    event: &'static str,
    create: &'static [Field],
    required: &'static [&'static str],
    update: &'static [Field],
    /// The event of an update (`None`: Stripe sends none).
    updated: Option<&'static str>,
    created_event: &'static str,
}

const CUSTOMERS: Kind = Kind {
    endpoint: "customers",
    event: "customer",
    create: &[
        Field::Str("email"),
        Field::Str("name"),
        Field::Str("description"),
        Field::Str("phone"),
    ],
    required: &[],
    update: &[
        Field::Str("email"),
        Field::Str("name"),
        Field::Str("description"),
        Field::Str("phone"),
    ],
    updated: Some("customer.updated"),
    created_event: "customer.created",
};

const INVOICES: Kind = Kind {
    endpoint: "invoices",
    event: "invoice",
    create: &[
        Field::Customer,
        Field::Str("description"),
        Field::Bool("auto_advance"),
        Field::Enum(
            "collection_method",
            &["charge_automatically", "send_invoice"],
        ),
    ],
    required: &["customer"],
    update: &[Field::Str("description"), Field::Bool("auto_advance")],
    updated: Some("invoice.updated"),
    created_event: "invoice.created",
};

const PAYMENT_INTENTS: Kind = Kind {
    endpoint: "payment_intents",
    event: "payment_intent",
    create: &[
        Field::Int("amount"),
        Field::Str("currency"),
        Field::Customer,
        Field::Str("description"),
        Field::List("payment_method_types"),
    ],
    required: &["amount", "currency"],
    update: &[Field::Int("amount"), Field::Str("description")],
    updated: None,
    created_event: "payment_intent.created",
};

const CHARGES: Kind = Kind {
    endpoint: "charges",
    event: "charge",
    create: &[
        Field::Int("amount"),
        Field::Str("currency"),
        Field::Customer,
        Field::Str("description"),
        Field::Str("source"),
    ],
    required: &["amount", "currency"],
    update: &[Field::Str("description")],
    updated: Some("charge.updated"),
    created_event: "charge.succeeded",
};

fn kind(endpoint: &str) -> Option<&'static Kind> {
    [&CUSTOMERS, &INVOICES, &PAYMENT_INTENTS, &CHARGES]
        .into_iter()
        .find(|k| k.endpoint == endpoint)
}

/// Can `method` be sent to `/v1/<endpoint>[/<id>]` (besides GET)?
pub fn writable(method: &str, endpoint: &str, has_id: bool) -> bool {
    match (method, endpoint, has_id) {
        ("POST", e, _) if kind(e).is_some() => true,
        ("DELETE", "customers" | "invoices", true) => true,
        _ => false,
    }
}

/// A new object of `endpoint` in Stripe's current shape, every optional field at its default.
fn template(state: &mut State, endpoint: &'static str) -> Value {
    let id = state.new_doc_id(endpoint);
    let created = state.doc_created(endpoint);
    let object = crate::docs::object_type(endpoint);
    let mut v = fixture(object);
    let base = json!({"id": id, "created": created, "livemode": false, "metadata": {}});
    let defaults = match endpoint {
        "customers" => json!({"email": null, "name": null, "description": null, "phone": null,
            "balance": 0, "delinquent": false, "discount": null, "address": null, "shipping": null,
            "currency": null, "default_source": null, "test_clock": null}),
        "invoices" => {
            json!({"status": "draft", "subscription": null, "parent": null, "number": null,
            "total": 0, "subtotal": 0, "amount_due": 0, "amount_paid": 0, "amount_remaining": 0,
            "currency": "usd", "period_start": created, "period_end": created, "due_date": null,
            "description": null, "test_clock": null,
            "lines": {"object": "list", "data": [], "has_more": false, "url": format!("/v1/invoices/{id}/lines")}})
        }
        "payment_intents" => json!({"status": "requires_payment_method", "customer": null,
            "description": null, "latest_charge": null, "payment_method": null, "canceled_at": null,
            "client_secret": format!("{id}_secret_fake"), "amount_received": 0, "amount_capturable": 0}),
        _ => json!({"status": "succeeded", "paid": true, "captured": true, "refunded": false,
            "customer": null, "description": null, "payment_intent": null, "amount_refunded": 0,
            "refunds": {"object": "list", "data": [], "has_more": false, "url": format!("/v1/charges/{id}/refunds")}}),
    };
    if let (Some(m), Some(b), Some(d)) = (v.as_object_mut(), base.as_object(), defaults.as_object())
    {
        m.extend(b.clone());
        m.extend(d.clone());
    }
    v
}

fn read_fields(state: &State, fields: &[Field], p: &mut Params, obj: &mut Value) -> ApiResult<()> {
    for f in fields {
        let name = f.name();
        let value = match *f {
            Field::Str(_) => p
                .str(name)?
                .map(|s| if s.is_empty() { Value::Null } else { json!(s) }),
            Field::Int(_) => p.int(name)?.map(|n| json!(n)),
            Field::Bool(_) => p.bool(name)?.map(|b| json!(b)),
            Field::Enum(_, allowed) => p.enumerated(name, allowed)?.map(|s| json!(s)),
            Field::List(_) => p.list(name)?.map(|l| json!(l)),
            Field::Customer => match p.str(name)? {
                Some(c) if state.doc("customers", &c).is_none() => {
                    return Err(ApiError::no_such("customer", &c, "customer", 400))
                }
                c => c.map(|c| json!(c)),
            },
        };
        if let Some(v) = value {
            obj[name] = v;
        }
    }
    let mut meta: BTreeMap<String, String> =
        serde_json::from_value(obj["metadata"].clone()).unwrap_or_default();
    apply_metadata(p, &mut meta)?;
    obj["metadata"] = json!(meta);
    crate::list::take_expand(p)
}

fn allowed(fields: &[Field]) -> Vec<&'static str> {
    fields
        .iter()
        .map(|f| f.name())
        .chain(["metadata", "expand"])
        .collect()
}

/// `POST /v1/<endpoint>`.
pub fn create(state: &mut State, endpoint: &str, mut p: Params) -> ApiResult<Value> {
    let k = kind(endpoint)
        .ok_or_else(|| ApiError::not_found_url("POST", &format!("/v1/{endpoint}")))?;
    p.only(&allowed(k.create))?;
    if let Some(r) = k.required.iter().find(|r| !p.has(r)) {
        return Err(ApiError::missing_param(r));
    }
    let mut obj = template(state, k.endpoint);
    read_fields(state, k.create, &mut p, &mut obj)?;
    p.finish()?;
    insert(&mut state.docs, k.endpoint, obj.clone());
    state.note(k.created_event, obj.clone(), None);
    Ok(obj)
}

/// `POST /v1/<endpoint>/<id>`.
pub fn update(state: &mut State, endpoint: &str, id: &str, mut p: Params) -> ApiResult<Value> {
    let k = kind(endpoint)
        .ok_or_else(|| ApiError::not_found_url("POST", &format!("/v1/{endpoint}/{id}")))?;
    p.only(&allowed(k.update))?;
    let before = state
        .doc(k.endpoint, id)
        .cloned()
        .ok_or_else(|| ApiError::no_such(k.event, id, "id", 404))?;
    let mut obj = before.clone();
    read_fields(state, k.update, &mut p, &mut obj)?;
    p.finish()?;
    state.put_doc(k.endpoint, obj.clone());
    if let Some(event) = k.updated {
        state.note(event, obj.clone(), Some(&before));
    }
    Ok(obj)
}

/// `DELETE /v1/customers/<id>` (its subscriptions are canceled, as Stripe does) and `DELETE
/// /v1/invoices/<id>` (drafts only).
pub fn delete(state: &mut State, endpoint: &str, id: &str, p: Params) -> ApiResult<Value> {
    p.finish()?;
    let k = kind(endpoint)
        .ok_or_else(|| ApiError::not_found_url("DELETE", &format!("/v1/{endpoint}/{id}")))?;
    let gone = state
        .doc(k.endpoint, id)
        .cloned()
        .ok_or_else(|| ApiError::no_such(k.event, id, "id", 404))?;
    if endpoint == "invoices" && gone["status"] != "draft" {
        return Err(ApiError::invalid(
            "You can only delete draft invoices.",
            None,
        ));
    }
    if endpoint == "customers" {
        let subs: Vec<String> = state
            .docs
            .get("subscriptions")
            .map(|t| {
                t.iter()
                    .filter(|d| d.value["customer"] == id && d.value["status"] != "canceled")
                    .map(|d| d.id.clone())
                    .collect()
            })
            .unwrap_or_default();
        for s in subs {
            crate::subscriptions::cancel(state, &s, Params::default())?;
        }
        state.deleted.insert(id.to_string());
    }
    if let Some(t) = state.docs.get_mut(k.endpoint) {
        t.remove(id);
    }
    state.note(&format!("{}.deleted", k.event), gone, None);
    Ok(json!({"id": id, "object": k.event, "deleted": true}))
}
