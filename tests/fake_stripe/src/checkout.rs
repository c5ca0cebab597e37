//! Checkout Sessions: `POST /v1/checkout/sessions` opens one; completing it (a test control, as a
//! customer paying on Stripe's page) starts the subscription of a `mode=subscription` session and
//! notes `customer.subscription.created` then `checkout.session.completed`.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::docs::{fixture, insert};
use crate::errors::{ApiError, ApiResult};
use crate::fields::apply_metadata;
use crate::params::Params;
use crate::state::State;

const ENDPOINT: &str = "checkout/sessions";

/// `POST /v1/checkout/sessions`.
pub fn create(state: &mut State, mut p: Params) -> ApiResult<Value> {
    p.only(&[
        "mode",
        "customer",
        "customer_email",
        "line_items",
        "success_url",
        "cancel_url",
        "client_reference_id",
        "metadata",
        "allow_promotion_codes",
        "billing_address_collection",
        "customer_update",
        "subscription_data",
        "payment_method_types",
        "expand",
    ])?;
    let mode = p
        .enumerated("mode", &["payment", "setup", "subscription"])?
        .ok_or_else(|| ApiError::missing_param("mode"))?;
    let customer = p.str("customer")?;
    if let Some(c) = customer
        .as_deref()
        .filter(|c| state.doc("customers", c).is_none())
    {
        return Err(ApiError::no_such("customer", c, "customer", 400));
    }
    let email = p.str("customer_email")?;
    let mut items = Vec::new();
    let mut total = 0;
    let mut currency = Value::Null;
    for (i, mut li) in p
        .list_of_maps("line_items")?
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let price = li
            .str("price")?
            .ok_or_else(|| ApiError::missing_param(&format!("line_items[{i}][price]")))?;
        let quantity = li.int("quantity")?.unwrap_or(1);
        li.finish()?;
        let pr = state.prices.get(&price).ok_or_else(|| {
            ApiError::no_such("price", &price, &format!("line_items[{i}][price]"), 400)
        })?;
        total += pr.unit_amount.unwrap_or(0) * quantity;
        currency = json!(pr.currency);
        items.push(json!([price, quantity]));
    }
    if mode != "setup" && items.is_empty() {
        return Err(ApiError::missing_param("line_items"));
    }
    let mut sub_meta = BTreeMap::new();
    if let Some(Some(mut sd)) = p.map("subscription_data")? {
        apply_metadata(&mut sd, &mut sub_meta)?;
        sd.int("trial_period_days")?;
        sd.finish()?;
    }
    if let Some(Some(mut cu)) = p.map("customer_update")? {
        for k in ["address", "name", "shipping"] {
            cu.enumerated(k, &["auto", "never"])?;
        }
        cu.finish()?;
    }
    p.bool("allow_promotion_codes")?;
    p.enumerated("billing_address_collection", &["auto", "required"])?;
    p.list("payment_method_types")?;
    let mut meta = BTreeMap::new();
    apply_metadata(&mut p, &mut meta)?;
    let success_url = p.str("success_url")?;
    let cancel_url = p.str("cancel_url")?;
    let reference = p.str("client_reference_id")?;
    crate::list::take_expand(&mut p)?;
    p.finish()?;

    let id = state.new_doc_id(ENDPOINT);
    let created = state.doc_created(ENDPOINT);
    let mut s = fixture("checkout.session");
    let fields = json!({
        "id": id, "created": created, "expires_at": created + 86_400, "livemode": false,
        "mode": mode, "status": "open", "payment_status": "unpaid", "customer": customer,
        "customer_email": email, "subscription": null, "payment_intent": null, "invoice": null,
        "setup_intent": null, "payment_link": null, "client_reference_id": reference,
        "amount_subtotal": total, "amount_total": total, "currency": currency, "metadata": meta,
        "success_url": success_url, "cancel_url": cancel_url,
        "url": format!("https://checkout.stripe.com/c/pay/{id}"),
        "customer_details": null,
    });
    if let (Some(m), Some(f)) = (s.as_object_mut(), fields.as_object()) {
        m.extend(f.clone());
    }
    insert(&mut state.docs, ENDPOINT, s.clone());
    if let Some(d) = state.docs.get_mut(ENDPOINT).and_then(|t| t.get_mut(&id)) {
        d.private = json!({"line_items": items, "subscription_metadata": sub_meta});
    }
    Ok(s)
}

/// The customer pays: a `mode=subscription` session gets its customer (created from
/// `customer_email` when it had none) and a new subscription; the session is `complete`.
/// Notes the events Stripe sends, the session's `checkout.session.completed` last.
pub fn complete(state: &mut State, id: &str) -> ApiResult<Value> {
    let doc = state
        .docs
        .get(ENDPOINT)
        .and_then(|t| t.get(id))
        .cloned()
        .ok_or_else(|| ApiError::no_such("checkout.session", id, "id", 404))?;
    let before = doc.value.clone();
    if before["status"] != "open" {
        return Err(ApiError::invalid(
            format!("Checkout session {id} is not open"),
            None,
        ));
    }
    let mut s = before.clone();
    let customer = match before["customer"].as_str() {
        Some(c) => c.to_string(),
        None => {
            let mut p = Params::default();
            if let Some(e) = before["customer_email"].as_str() {
                p = Params::parse(&[("email".to_string(), e.to_string())])?;
            }
            let c = crate::writes::create(state, "customers", p)?;
            c["id"].as_str().unwrap_or_default().to_string()
        }
    };
    s["customer"] = json!(customer);
    s["status"] = json!("complete");
    s["payment_status"] = json!("paid");
    s["customer_details"] = json!({"email": before["customer_email"], "name": null});
    if before["mode"] == "subscription" {
        let items: Vec<(String, i64)> = doc.private["line_items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|li| Some((li[0].as_str()?.to_string(), li[1].as_i64()?)))
            .collect();
        let meta = serde_json::from_value(doc.private["subscription_metadata"].clone())
            .unwrap_or_default();
        let sub = crate::subscriptions::start(state, &customer, &items, meta)?;
        s["subscription"] = sub["id"].clone();
    }
    state.put_doc(ENDPOINT, s.clone());
    state.note("checkout.session.completed", s.clone(), None);
    Ok(s)
}
