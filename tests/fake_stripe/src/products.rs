//! `/v1/products` endpoints: list, retrieve, create, update, delete.

use serde_json::{json, Value};

use crate::errors::{ApiError, ApiResult};
use crate::fields::{apply_metadata, check_len, nullable_str, required_str};
use crate::ids::now_unix;
use crate::list::{paginate, take_expand, take_list_args, Source};
use crate::model::{MarketingFeature, PackageDimensions, Product};
use crate::params::Params;
use crate::state::State;

const TYPES: &[&str] = &["good", "service"];

fn to_json(p: &Product) -> Value {
    serde_json::to_value(p).unwrap_or(Value::Null)
}

fn missing(id: &str) -> ApiError {
    ApiError::no_such("product", id, "id", 404)
}

pub fn list(state: &State, mut p: Params) -> ApiResult<Value> {
    p.only(&[
        "active",
        "created",
        "ending_before",
        "starting_after",
        "expand",
        "ids",
        "limit",
        "shippable",
        "url",
        "type",
    ])?;
    let args = take_list_args(&mut p)?;
    let active = p.bool("active")?;
    let ids = p.list("ids")?;
    let shippable = p.bool("shippable")?;
    let url = p.str("url")?;
    let kind = p.enumerated("type", TYPES)?;
    p.finish()?;
    if ids.is_some() && (args.starting_after.is_some() || args.ending_before.is_some()) {
        return Err(ApiError::invalid(
            "You cannot specify `ids` together with `starting_after` or `ending_before`.",
            Some("ids"),
        ));
    }
    let source = match ids {
        None => Source::All,
        Some(ids) => Source::Positions(
            ids.iter()
                .filter_map(|id| state.products.position(id))
                .collect(),
        ),
    };
    paginate(
        &state.products,
        &args,
        source,
        "product",
        "/v1/products",
        |o| {
            active.is_none_or(|a| o.active == a)
                && shippable.is_none_or(|s| o.shippable == Some(s))
                && url.as_ref().is_none_or(|u| o.url.as_ref() == Some(u))
                && kind.as_ref().is_none_or(|k| &o.kind == k)
        },
    )
}

pub fn retrieve(state: &State, id: &str, mut p: Params) -> ApiResult<Value> {
    p.only(&["expand"])?;
    take_expand(&mut p)?;
    p.finish()?;
    state
        .products
        .get(id)
        .map(to_json)
        .ok_or_else(|| missing(id))
}

/// Fields settable on both create and update.
fn apply_common(state: &State, p: &mut Params, prod: &mut Product) -> ApiResult<()> {
    if let Some(a) = p.bool("active")? {
        prod.active = a;
    }
    if let Some(d) = nullable_str(p, "description")? {
        prod.description = d;
    }
    apply_metadata(p, &mut prod.metadata)?;
    if let Some(images) = p.list("images")? {
        if images.len() > 8 {
            return Err(ApiError::invalid(
                "Invalid array: images must have at most 8 elements",
                Some("images"),
            ));
        }
        prod.images = images;
    }
    if let Some(u) = nullable_str(p, "url")? {
        prod.url = u;
    }
    if let Some(s) = p.str("shippable")? {
        prod.shippable = match s.as_str() {
            "true" => Some(true),
            "false" => Some(false),
            "" => None,
            _ => return Err(ApiError::invalid_boolean(&s, "shippable")),
        };
    }
    if let Some(sd) = nullable_str(p, "statement_descriptor")? {
        check_len(&sd, 22, "statement_descriptor")?;
        prod.statement_descriptor = sd;
    }
    if let Some(tc) = nullable_str(p, "tax_code")? {
        prod.tax_code = tc;
    }
    if let Some(ul) = nullable_str(p, "unit_label")? {
        check_len(&ul, 12, "unit_label")?;
        prod.unit_label = ul;
    }
    if let Some(features) = p.list_of_maps("marketing_features")? {
        let mut out = Vec::with_capacity(features.len());
        for mut f in features {
            let name = f.str("name")?;
            f.finish()?;
            out.push(MarketingFeature { name });
        }
        prod.marketing_features = out;
    }
    if let Some(dims) = p.map("package_dimensions")? {
        prod.package_dimensions = match dims {
            None => None,
            Some(mut d) => {
                let mut get = |k: &str| -> ApiResult<f64> {
                    d.number(k)?
                        .ok_or_else(|| ApiError::missing_param(&format!("package_dimensions[{k}]")))
                };
                let dims = PackageDimensions {
                    height: get("height")?,
                    length: get("length")?,
                    weight: get("weight")?,
                    width: get("width")?,
                };
                d.finish()?;
                Some(dims)
            }
        };
    }
    if let Some(dp) = p.str("default_price")? {
        if dp.is_empty() {
            prod.default_price = None;
        } else {
            match state.prices.get(&dp) {
                Some(price) if price.product == prod.id => prod.default_price = Some(dp),
                _ => return Err(ApiError::no_such("price", &dp, "default_price", 400)),
            }
        }
    }
    take_expand(p)
}

pub fn create(state: &mut State, mut p: Params) -> ApiResult<Value> {
    p.only(&[
        "name",
        "id",
        "active",
        "description",
        "metadata",
        "images",
        "url",
        "shippable",
        "statement_descriptor",
        "tax_code",
        "unit_label",
        "type",
        "marketing_features",
        "package_dimensions",
        "expand",
    ])?;
    let name = required_str(&mut p, "name")?;
    let id = match p.str("id")? {
        Some(id) if !id.is_empty() => {
            if state.products.contains(&id) {
                return Err(ApiError {
                    status: 400,
                    kind: "invalid_request_error",
                    code: Some("resource_already_exists"),
                    message: "Product already exists.".to_string(),
                    param: Some("id".to_string()),
                });
            }
            id
        }
        _ => state.new_product_id(),
    };
    let kind = p.enumerated("type", TYPES)?;
    let mut prod = Product::new(id, name, state.next_created());
    if let Some(k) = kind {
        prod.kind = k;
    }
    apply_common(state, &mut p, &mut prod)?;
    p.finish()?;
    let out = to_json(&prod);
    state.products.push(prod);
    state.note("product.created", out.clone(), None);
    Ok(out)
}

pub fn update(state: &mut State, id: &str, mut p: Params) -> ApiResult<Value> {
    p.only(&[
        "name",
        "active",
        "description",
        "metadata",
        "images",
        "url",
        "shippable",
        "statement_descriptor",
        "tax_code",
        "unit_label",
        "marketing_features",
        "package_dimensions",
        "default_price",
        "expand",
    ])?;
    let mut prod = state.products.get(id).cloned().ok_or_else(|| missing(id))?;
    let before = to_json(&prod);
    if let Some(name) = p.str("name")? {
        if name.is_empty() {
            return Err(ApiError::invalid(
                "You passed an empty string for 'name'. We assume empty values are an attempt to unset a parameter; however 'name' cannot be unset. You should remove 'name' from your request or supply a non-empty value.",
                Some("name"),
            ));
        }
        prod.name = name;
    }
    apply_common(state, &mut p, &mut prod)?;
    p.finish()?;
    prod.updated = now_unix().max(prod.updated);
    let out = to_json(&prod);
    if let Some(slot) = state.products.get_mut(id) {
        *slot = prod;
    }
    state.note("product.updated", out.clone(), Some(&before));
    Ok(out)
}

pub fn delete(state: &mut State, id: &str, p: Params) -> ApiResult<Value> {
    p.finish()?;
    if !state.products.contains(id) {
        return Err(missing(id));
    }
    if state.product_has_prices(id) {
        return Err(ApiError::invalid(
            "This product cannot be deleted because it has one or more prices associated with it. You can archive it instead (active=false).",
            None,
        ));
    }
    if let Some(gone) = state.products.remove(id) {
        // Stripe's product.deleted carries the product as it was, not the deletion stub.
        state.note("product.deleted", to_json(&gone), None);
    }
    Ok(json!({"id": id, "object": "product", "deleted": true}))
}
