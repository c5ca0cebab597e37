//! `/v1/events` endpoints: list (newest first, 30 days) and retrieve.

use serde_json::Value;

use crate::errors::{ApiError, ApiResult};
use crate::events::{type_matches, Event};
use crate::list::{paginate, take_expand, take_list_args, Source};
use crate::params::Params;
use crate::state::State;

/// Stripe's limit on `types[]`.
pub const MAX_TYPES: usize = 20;

fn missing(id: &str) -> ApiError {
    ApiError::no_such("event", id, "id", 404)
}

pub fn list(state: &State, mut p: Params) -> ApiResult<Value> {
    p.only(&[
        "created",
        "delivery_success",
        "ending_before",
        "starting_after",
        "expand",
        "limit",
        "type",
        "types",
    ])?;
    let mut args = take_list_args(&mut p)?;
    let delivery_success = p.bool("delivery_success")?;
    let kind = p.str("type")?;
    let types = p.list("types")?;
    p.finish()?;
    if kind.is_some() && types.is_some() {
        return Err(ApiError::invalid(
            "You may pass either `type` or `types`, but not both.",
            Some("types"),
        ));
    }
    if let Some(t) = &types {
        if t.len() > MAX_TYPES {
            return Err(ApiError::invalid(
                format!(
                    "Invalid array: types must have at most {MAX_TYPES} elements (it has {}).",
                    t.len()
                ),
                Some("types"),
            ));
        }
    }
    let cutoff = state.retention_cutoff();
    args.created_min = Some(args.created_min.map_or(cutoff, |m| m.max(cutoff)));
    paginate(
        &state.events,
        &args,
        Source::All,
        "event",
        "/v1/events",
        |e: &Event| {
            kind.as_ref().is_none_or(|k| type_matches(k, &e.kind))
                && types.as_ref().is_none_or(|ts| ts.contains(&e.kind))
                && delivery_success.is_none_or(|ok| ok != e.delivery_failed)
        },
    )
}

pub fn retrieve(state: &State, id: &str, mut p: Params) -> ApiResult<Value> {
    p.only(&["expand"])?;
    take_expand(&mut p)?;
    p.finish()?;
    let cutoff = state.retention_cutoff();
    state
        .events
        .get(id)
        .filter(|e| e.created >= cutoff)
        .map(|e| serde_json::to_value(e).unwrap_or(Value::Null))
        .ok_or_else(|| missing(id))
}
