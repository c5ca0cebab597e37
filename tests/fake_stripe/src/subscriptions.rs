//! Subscriptions and their items as Stripe serves them since 2025 (the billing period on each item,
//! not on the subscription): create, update (cancel at period end, change an item's price,
//! metadata) and cancel (`DELETE`), each with its `customer.subscription.*` event.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::errors::{ApiError, ApiResult};
use crate::fields::apply_metadata;
use crate::params::Params;
use crate::state::State;

const ENDPOINT: &str = "subscriptions";
const ITEMS: &str = "subscription_items";

fn missing(id: &str) -> ApiError {
    ApiError::no_such("subscription", id, "id", 404)
}

/// The price `id` as an item shows it, and the length of its billing period in seconds.
fn price(state: &State, id: &str, param: &str) -> ApiResult<(Value, i64)> {
    let p = state
        .prices
        .get(id)
        .ok_or_else(|| ApiError::no_such("price", id, param, 400))?;
    let Some(r) = &p.recurring else {
        return Err(ApiError::invalid(
            format!("The price specified is set to `type=one_time` but this field only accepts prices with `type=recurring`: {id}"),
            Some(param),
        ));
    };
    let unit = match r.interval.as_str() {
        "day" => 86_400,
        "week" => 7 * 86_400,
        "month" => 30 * 86_400,
        _ => 365 * 86_400,
    };
    Ok((
        serde_json::to_value(p).unwrap_or(Value::Null),
        unit * r.interval_count.max(1),
    ))
}

fn metadata(v: &Value) -> BTreeMap<String, String> {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

/// Create an active subscription of `customer` to `(price, quantity)` items, as `POST
/// /v1/subscriptions` and a completed Checkout do; notes `customer.subscription.created`.
pub fn start(
    state: &mut State,
    customer: &str,
    items: &[(String, i64)],
    meta: BTreeMap<String, String>,
) -> ApiResult<Value> {
    if state.doc("customers", customer).is_none() {
        return Err(ApiError::no_such("customer", customer, "customer", 400));
    }
    if items.is_empty() {
        return Err(ApiError::missing_param("items"));
    }
    let id = state.new_doc_id(ENDPOINT);
    let now = state.doc_created(ENDPOINT).max(state.doc_created(ITEMS));
    let mut data = Vec::new();
    let mut currency = Value::Null;
    for (i, (price_id, quantity)) in items.iter().enumerate() {
        let (p, period) = price(state, price_id, &format!("items[{i}][price]"))?;
        currency = p["currency"].clone();
        data.push(json!({
            "id": state.new_doc_id(ITEMS), "object": "subscription_item", "created": now,
            "current_period_start": now, "current_period_end": now + period,
            "discounts": [], "metadata": {}, "price": p, "quantity": quantity,
            "subscription": id, "tax_rates": [],
        }));
    }
    let sub = json!({
        "id": id, "object": "subscription", "application": null, "billing_cycle_anchor": now,
        "cancel_at": null, "cancel_at_period_end": false, "canceled_at": null,
        "cancellation_details": {"comment": null, "feedback": null, "reason": null},
        "collection_method": "charge_automatically", "created": now, "currency": currency,
        "customer": customer, "default_payment_method": null, "description": null,
        "discounts": [], "ended_at": null,
        "items": {"object": "list", "data": data, "has_more": false, "url": format!("/v1/subscription_items?subscription={id}")},
        "latest_invoice": null, "livemode": false, "metadata": meta, "start_date": now,
        "status": "active", "test_clock": null, "trial_end": null, "trial_start": null,
    });
    crate::docs::insert(&mut state.docs, ENDPOINT, sub.clone());
    sync_items(state, &sub);
    state.note("customer.subscription.created", sub.clone(), None);
    Ok(sub)
}

/// Keep `GET /v1/subscription_items` equal to the subscription's items.
fn sync_items(state: &mut State, sub: &Value) {
    let id = sub["id"].as_str().unwrap_or("");
    let items: Vec<Value> = sub["items"]["data"].as_array().cloned().unwrap_or_default();
    let stale: Vec<String> = state
        .docs
        .get(ITEMS)
        .map(|t| {
            t.iter()
                .filter(|d| {
                    d.value["subscription"] == id && !items.iter().any(|i| i["id"] == d.value["id"])
                })
                .map(|d| d.id.clone())
                .collect()
        })
        .unwrap_or_default();
    if let Some(t) = state.docs.get_mut(ITEMS) {
        for s in stale {
            t.remove(&s);
        }
    }
    for item in items {
        let known = item["id"]
            .as_str()
            .is_some_and(|i| state.doc(ITEMS, i).is_some());
        if known {
            state.put_doc(ITEMS, item);
        } else {
            crate::docs::insert(&mut state.docs, ITEMS, item);
        }
    }
}

/// `POST /v1/subscriptions`: `customer`, `items[i][price]`, `items[i][quantity]`, `metadata`.
pub fn create(state: &mut State, mut p: Params) -> ApiResult<Value> {
    p.only(&[
        "customer",
        "items",
        "metadata",
        "expand",
        "payment_behavior",
        "proration_behavior",
    ])?;
    let customer = p
        .str("customer")?
        .ok_or_else(|| ApiError::missing_param("customer"))?;
    let mut items = Vec::new();
    for (i, mut item) in p
        .list_of_maps("items")?
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let price = item
            .str("price")?
            .ok_or_else(|| ApiError::missing_param(&format!("items[{i}][price]")))?;
        let quantity = item.int("quantity")?.unwrap_or(1);
        item.finish()?;
        items.push((price, quantity));
    }
    let mut meta = BTreeMap::new();
    apply_metadata(&mut p, &mut meta)?;
    p.str("payment_behavior")?;
    p.str("proration_behavior")?;
    crate::list::take_expand(&mut p)?;
    p.finish()?;
    start(state, &customer, &items, meta)
}

/// `POST /v1/subscriptions/{id}`: `cancel_at_period_end`, `items[i][id|price|quantity]`,
/// `metadata`, `description`, `proration_behavior` (accepted; the fake does not prorate).
pub fn update(state: &mut State, id: &str, mut p: Params) -> ApiResult<Value> {
    p.only(&[
        "cancel_at_period_end",
        "items",
        "metadata",
        "description",
        "proration_behavior",
        "expand",
    ])?;
    let before = state
        .doc(ENDPOINT, id)
        .cloned()
        .ok_or_else(|| missing(id))?;
    if before["status"] == "canceled" {
        return Err(ApiError::invalid(
            format!("A canceled subscription can only update its cancellation_details and metadata. (subscription {id})"),
            None,
        ));
    }
    let mut sub = before.clone();
    let period_end = sub["items"]["data"][0]["current_period_end"].clone();
    if let Some(cancel) = p.bool("cancel_at_period_end")? {
        sub["cancel_at_period_end"] = json!(cancel);
        sub["cancel_at"] = if cancel { period_end } else { Value::Null };
    }
    for (i, mut change) in p
        .list_of_maps("items")?
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let item_id = change.str("id")?;
        let new_price = change.str("price")?;
        let quantity = change.int("quantity")?;
        change.finish()?;
        let data = sub["items"]["data"].as_array().cloned().unwrap_or_default();
        let pos = match &item_id {
            Some(iid) => data
                .iter()
                .position(|d| d["id"] == iid.as_str())
                .ok_or_else(|| {
                    ApiError::no_such("subscription_item", iid, &format!("items[{i}][id]"), 400)
                })?,
            None => {
                return Err(ApiError::invalid(
                    "The fake changes existing items only: give items[i][id].",
                    Some(&format!("items[{i}]")),
                ))
            }
        };
        if let Some(pr) = new_price {
            let (value, _) = price(state, &pr, &format!("items[{i}][price]"))?;
            sub["items"]["data"][pos]["price"] = value;
        }
        if let Some(q) = quantity {
            sub["items"]["data"][pos]["quantity"] = json!(q);
        }
    }
    let mut meta = metadata(&sub["metadata"]);
    apply_metadata(&mut p, &mut meta)?;
    sub["metadata"] = json!(meta);
    if let Some(d) = p.str("description")? {
        sub["description"] = if d.is_empty() { Value::Null } else { json!(d) };
    }
    p.str("proration_behavior")?;
    crate::list::take_expand(&mut p)?;
    p.finish()?;
    state.put_doc(ENDPOINT, sub.clone());
    sync_items(state, &sub);
    state.note("customer.subscription.updated", sub.clone(), Some(&before));
    Ok(sub)
}

/// `DELETE /v1/subscriptions/{id}`: cancel now. The subscription stays, `status=canceled`.
pub fn cancel(state: &mut State, id: &str, mut p: Params) -> ApiResult<Value> {
    p.only(&["invoice_now", "prorate", "expand"])?;
    p.bool("invoice_now")?;
    p.bool("prorate")?;
    crate::list::take_expand(&mut p)?;
    p.finish()?;
    let mut sub = state
        .doc(ENDPOINT, id)
        .cloned()
        .ok_or_else(|| missing(id))?;
    if sub["status"] == "canceled" {
        return Err(ApiError::invalid(
            format!("No such subscription: '{id}'; it is already canceled."),
            Some("id"),
        ));
    }
    let now = crate::ids::now_unix();
    sub["status"] = json!("canceled");
    sub["canceled_at"] = json!(now);
    sub["ended_at"] = json!(now);
    sub["cancel_at_period_end"] = json!(false);
    sub["cancellation_details"]["reason"] = json!("cancellation_requested");
    state.put_doc(ENDPOINT, sub.clone());
    state.note("customer.subscription.deleted", sub.clone(), None);
    Ok(sub)
}
