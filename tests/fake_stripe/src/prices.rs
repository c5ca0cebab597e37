//! `/v1/prices` endpoints: list, retrieve, create, update.

use serde_json::Value;

use crate::errors::{ApiError, ApiResult};
use crate::fields::{apply_metadata, check_len, nullable_str, required_str};
use crate::list::{paginate, take_expand, take_list_args, Source};
use crate::model::{Price, Recurring, TransformQuantity};
use crate::params::Params;
use crate::state::State;

const INTERVALS: &[&str] = &["day", "month", "week", "year"];
const USAGE_TYPES: &[&str] = &["licensed", "metered"];
const PRICE_TYPES: &[&str] = &["one_time", "recurring"];
const TAX_BEHAVIORS: &[&str] = &["exclusive", "inclusive", "unspecified"];

fn to_json(p: &Price) -> Value {
    serde_json::to_value(p).unwrap_or(Value::Null)
}

fn missing(id: &str) -> ApiError {
    ApiError::no_such("price", id, "price", 404)
}

pub fn list(state: &State, mut p: Params) -> ApiResult<Value> {
    p.only(&[
        "active",
        "created",
        "currency",
        "ending_before",
        "starting_after",
        "expand",
        "limit",
        "lookup_keys",
        "product",
        "recurring",
        "type",
    ])?;
    let args = take_list_args(&mut p)?;
    let active = p.bool("active")?;
    let currency = p.str("currency")?.map(|c| c.to_ascii_lowercase());
    let lookup_keys = p.list("lookup_keys")?;
    let product = p.str("product")?;
    let (mut interval, mut usage_type, mut meter) = (None, None, None);
    if let Some(Some(mut r)) = p.map("recurring")? {
        interval = r.enumerated("interval", INTERVALS)?;
        usage_type = r.enumerated("usage_type", USAGE_TYPES)?;
        meter = r.str("meter")?;
        r.finish()?;
    }
    let kind = p.enumerated("type", PRICE_TYPES)?;
    p.finish()?;
    let source = match lookup_keys {
        None => Source::All,
        Some(keys) => {
            if keys.len() > 10 {
                return Err(ApiError::invalid(
                    format!(
                        "Invalid array: lookup_keys must have at most 10 elements (it has {}).",
                        keys.len()
                    ),
                    Some("lookup_keys"),
                ));
            }
            Source::Positions(
                keys.iter()
                    .filter_map(|k| state.lookup.get(k))
                    .filter_map(|id| state.prices.position(id))
                    .collect(),
            )
        }
    };
    let has_recurring_filter = interval.is_some() || usage_type.is_some() || meter.is_some();
    paginate(&state.prices, &args, source, "price", "/v1/prices", |o| {
        active.is_none_or(|a| o.active == a)
            && currency.as_ref().is_none_or(|c| &o.currency == c)
            && product.as_ref().is_none_or(|pr| &o.product == pr)
            && kind.as_ref().is_none_or(|k| &o.kind == k)
            && (!has_recurring_filter
                || o.recurring.as_ref().is_some_and(|r| {
                    interval.as_ref().is_none_or(|i| &r.interval == i)
                        && usage_type.as_ref().is_none_or(|u| &r.usage_type == u)
                        && meter.as_ref().is_none_or(|m| r.meter.as_ref() == Some(m))
                }))
    })
}

pub fn retrieve(state: &State, id: &str, mut p: Params) -> ApiResult<Value> {
    p.only(&["expand"])?;
    take_expand(&mut p)?;
    p.finish()?;
    state.prices.get(id).map(to_json).ok_or_else(|| missing(id))
}

/// Set `lookup_key` on `price`, honouring uniqueness and `transfer_lookup_key`.
fn apply_lookup_key(
    state: &mut State,
    price: &mut Price,
    key: Option<Option<String>>,
    transfer: bool,
) -> ApiResult<()> {
    let Some(key) = key else {
        return Ok(());
    };
    check_len(&key, 200, "lookup_key")?;
    if let Some(k) = &key {
        if let Some(holder) = state.lookup.get(k).cloned() {
            if holder != price.id {
                if !transfer {
                    return Err(ApiError::invalid(
                        format!("A price (`{holder}`) already uses that lookup key."),
                        Some("lookup_key"),
                    ));
                }
                if let Some(other) = state.prices.get_mut(&holder) {
                    let before = to_json(other);
                    other.lookup_key = None;
                    let after = to_json(other);
                    state.note("price.updated", after, Some(&before));
                }
            }
        }
    }
    if let Some(old) = &price.lookup_key {
        if state.lookup.get(old) == Some(&price.id) {
            state.lookup.remove(old);
        }
    }
    if let Some(k) = &key {
        state.lookup.insert(k.clone(), price.id.clone());
    }
    price.lookup_key = key;
    Ok(())
}

fn parse_decimal(s: &str) -> ApiResult<Option<i64>> {
    let bad = || ApiError::invalid(format!("Invalid decimal: {s}"), Some("unit_amount_decimal"));
    let (int_part, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int_part.is_empty()
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 12
    {
        return Err(bad());
    }
    let whole: i64 = int_part.parse().map_err(|_| bad())?;
    if frac.bytes().all(|b| b == b'0') {
        Ok(Some(whole))
    } else {
        Ok(None)
    }
}

fn take_recurring(p: &mut Params) -> ApiResult<Option<Recurring>> {
    let Some(Some(mut r)) = p.map("recurring")? else {
        return Ok(None);
    };
    let interval = r
        .enumerated("interval", INTERVALS)?
        .ok_or_else(|| ApiError::missing_param("recurring[interval]"))?;
    let mut rec = Recurring::new(&interval);
    if let Some(n) = r.int("interval_count")? {
        if n < 1 {
            return Err(ApiError::invalid(
                format!("This value must be greater than or equal to 1 (it currently is {n})."),
                Some("recurring[interval_count]"),
            ));
        }
        rec.interval_count = n;
    }
    if let Some(u) = r.enumerated("usage_type", USAGE_TYPES)? {
        rec.usage_type = u;
    }
    rec.trial_period_days = r.int("trial_period_days")?;
    rec.meter = r.str("meter")?.filter(|m| !m.is_empty());
    r.finish()?;
    Ok(Some(rec))
}

pub fn create(state: &mut State, mut p: Params) -> ApiResult<Value> {
    p.only(&[
        "currency",
        "product",
        "unit_amount",
        "unit_amount_decimal",
        "recurring",
        "lookup_key",
        "transfer_lookup_key",
        "nickname",
        "active",
        "metadata",
        "tax_behavior",
        "billing_scheme",
        "transform_quantity",
        "expand",
    ])?;
    let currency = required_str(&mut p, "currency")?.to_ascii_lowercase();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_lowercase()) {
        return Err(ApiError::invalid(
            format!("Invalid currency: {currency}. Stripe currently supports these currencies: usd, eur, gbp, ..."),
            Some("currency"),
        ));
    }
    let product = required_str(&mut p, "product")?;
    if !state.products.contains(&product) {
        return Err(ApiError::no_such("product", &product, "product", 400));
    }
    let billing_scheme = p
        .enumerated("billing_scheme", &["per_unit", "tiered"])?
        .unwrap_or_else(|| "per_unit".to_string());
    if billing_scheme == "tiered" {
        return Err(ApiError::missing_param("tiers"));
    }
    let unit_amount = p.int("unit_amount")?;
    let decimal = p.str("unit_amount_decimal")?;
    let (unit_amount, unit_amount_decimal) =
        match (unit_amount, decimal) {
            (Some(_), Some(_)) => return Err(ApiError::invalid(
                "You may only specify one of these parameters: unit_amount, unit_amount_decimal.",
                Some("unit_amount"),
            )),
            (None, None) => return Err(ApiError::missing_param("unit_amount")),
            (Some(a), None) => {
                if !(0..=99_999_999).contains(&a) {
                    return Err(ApiError::invalid(
                        format!("Invalid unit_amount: {a} must be between 0 and 99999999"),
                        Some("unit_amount"),
                    ));
                }
                (Some(a), a.to_string())
            }
            (None, Some(d)) => (parse_decimal(&d)?, d),
        };
    let recurring = take_recurring(&mut p)?;
    let lookup_key = nullable_str(&mut p, "lookup_key")?;
    let transfer = p.bool("transfer_lookup_key")?.unwrap_or(false);
    let created = state.next_created();
    let id = state.new_price_id();
    let mut price = Price::new(id, product, &currency, 0, recurring, created);
    price.unit_amount = unit_amount;
    price.unit_amount_decimal = Some(unit_amount_decimal);
    price.billing_scheme = billing_scheme;
    if let Some(n) = nullable_str(&mut p, "nickname")? {
        price.nickname = n;
    }
    if let Some(a) = p.bool("active")? {
        price.active = a;
    }
    apply_metadata(&mut p, &mut price.metadata)?;
    if let Some(t) = p.enumerated("tax_behavior", TAX_BEHAVIORS)? {
        price.tax_behavior = Some(t);
    }
    if let Some(Some(mut tq)) = p.map("transform_quantity")? {
        let divide_by = tq
            .int("divide_by")?
            .ok_or_else(|| ApiError::missing_param("transform_quantity[divide_by]"))?;
        if divide_by < 1 {
            return Err(ApiError::invalid(
                format!(
                    "This value must be greater than or equal to 1 (it currently is {divide_by})."
                ),
                Some("transform_quantity[divide_by]"),
            ));
        }
        let round = tq
            .enumerated("round", &["down", "up"])?
            .ok_or_else(|| ApiError::missing_param("transform_quantity[round]"))?;
        tq.finish()?;
        price.transform_quantity = Some(TransformQuantity { divide_by, round });
    }
    take_expand(&mut p)?;
    p.finish()?;
    apply_lookup_key(state, &mut price, lookup_key, transfer)?;
    let out = to_json(&price);
    state.prices.push(price);
    state.note("price.created", out.clone(), None);
    Ok(out)
}

pub fn update(state: &mut State, id: &str, mut p: Params) -> ApiResult<Value> {
    p.only(&[
        "active",
        "lookup_key",
        "transfer_lookup_key",
        "metadata",
        "nickname",
        "tax_behavior",
        "expand",
    ])?;
    let mut price = state.prices.get(id).cloned().ok_or_else(|| missing(id))?;
    let before = to_json(&price);
    if let Some(a) = p.bool("active")? {
        price.active = a;
    }
    let lookup_key = nullable_str(&mut p, "lookup_key")?;
    let transfer = p.bool("transfer_lookup_key")?.unwrap_or(false);
    apply_metadata(&mut p, &mut price.metadata)?;
    if let Some(n) = nullable_str(&mut p, "nickname")? {
        price.nickname = n;
    }
    if let Some(t) = p.enumerated("tax_behavior", TAX_BEHAVIORS)? {
        price.tax_behavior = Some(t);
    }
    take_expand(&mut p)?;
    p.finish()?;
    apply_lookup_key(state, &mut price, lookup_key, transfer)?;
    let out = to_json(&price);
    if let Some(slot) = state.prices.get_mut(id) {
        *slot = price;
    }
    state.note("price.updated", out.clone(), Some(&before));
    Ok(out)
}
