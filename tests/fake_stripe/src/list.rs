//! Shared list machinery: `limit`, `created` bounds, cursors and newest-first pagination.

use serde::Serialize;
use serde_json::{json, Value};

use crate::errors::{ApiError, ApiResult};
use crate::model::Object;
use crate::params::{Node, Params};
use crate::store::Table;

/// Parameters common to every list endpoint.
#[derive(Debug, Default)]
pub struct ListArgs {
    pub limit: usize,
    pub created_min: Option<i64>,
    pub created_max: Option<i64>,
    pub starting_after: Option<String>,
    pub ending_before: Option<String>,
}

/// Consume `limit`, `created`, `starting_after`, `ending_before` and `expand`.
pub fn take_list_args(p: &mut Params) -> ApiResult<ListArgs> {
    let limit = match p.int("limit")? {
        None => 10,
        Some(n) if n > 100 => {
            return Err(ApiError::invalid(
                format!("This value must be less than or equal to 100 (it currently is {n})."),
                Some("limit"),
            ))
        }
        Some(n) if n < 1 => {
            return Err(ApiError::invalid(
                format!("This value must be greater than or equal to 1 (it currently is {n})."),
                Some("limit"),
            ))
        }
        Some(n) => n as usize,
    };
    let (created_min, created_max) = take_created(p)?;
    let starting_after = p.str("starting_after")?;
    let ending_before = p.str("ending_before")?;
    if starting_after.is_some() && ending_before.is_some() {
        return Err(ApiError::invalid(
            "You may only specify one of these parameters: ending_before, starting_after.",
            Some("ending_before"),
        ));
    }
    take_expand(p)?;
    Ok(ListArgs {
        limit,
        created_min,
        created_max,
        starting_after: starting_after.filter(|s| !s.is_empty()),
        ending_before: ending_before.filter(|s| !s.is_empty()),
    })
}

/// `expand[]` is accepted (and ignored: nothing is expandable in this fake).
pub fn take_expand(p: &mut Params) -> ApiResult<()> {
    p.list("expand").map(|_| ())
}

/// `created=<unix>` or `created[gt|gte|lt|lte]=<unix>` as an inclusive `[min, max]`.
fn take_created(p: &mut Params) -> ApiResult<(Option<i64>, Option<i64>)> {
    take_range(p, "created")
}

/// `key=<int>` or `key[gt|gte|lt|lte]=<int>` (Stripe's range query) as an inclusive `[min, max]`.
pub fn take_range(p: &mut Params, key: &str) -> ApiResult<(Option<i64>, Option<i64>)> {
    match p.take(key) {
        None => Ok((None, None)),
        Some(Node::Str(s)) => {
            let v = s
                .trim()
                .parse::<i64>()
                .map_err(|_| ApiError::invalid_integer(&s, key))?;
            Ok((Some(v), Some(v)))
        }
        Some(Node::Map(mut m)) => {
            let mut min: Option<i64> = None;
            let mut max: Option<i64> = None;
            if let Some(v) = m.int("gt")? {
                min = Some(v.saturating_add(1));
            }
            if let Some(v) = m.int("gte")? {
                min = Some(min.map_or(v, |x| x.max(v)));
            }
            if let Some(v) = m.int("lt")? {
                max = Some(v.saturating_sub(1));
            }
            if let Some(v) = m.int("lte")? {
                max = Some(max.map_or(v, |x| x.min(v)));
            }
            m.finish()?;
            Ok((min, max))
        }
        Some(Node::List(_)) => Err(ApiError::invalid(
            format!("Invalid {key}: must be an integer or a hash with gt, gte, lt or lte"),
            Some(key),
        )),
    }
}

/// Where candidates come from: all objects, or a set of positions (from `ids[]`, `lookup_keys[]`).
pub enum Source {
    All,
    Positions(Vec<usize>),
}

/// Page through `table` newest-first, keeping objects matching `pred`.
pub fn paginate<T: Object + Serialize>(
    table: &Table<T>,
    args: &ListArgs,
    source: Source,
    what: &str,
    url: &str,
    pred: impl Fn(&T) -> bool,
) -> ApiResult<Value> {
    let (mut lo, mut hi) = table.created_range(args.created_min, args.created_max);
    let cursor = |id: &str, param: &str| {
        table
            .position(id)
            .ok_or_else(|| ApiError::no_such(what, id, param, 400))
    };
    let backwards = args.ending_before.is_some();
    if let Some(id) = &args.starting_after {
        hi = hi.min(cursor(id, "starting_after")?);
    }
    if let Some(id) = &args.ending_before {
        lo = lo.max(cursor(id, "ending_before")? + 1);
    }
    let want = args.limit + 1;
    let mut picked: Vec<&T> = Vec::with_capacity(want.min(101));
    let mut consider = |pos: usize| -> bool {
        if let Some(o) = table.at(pos) {
            if pred(o) {
                picked.push(o);
            }
        }
        picked.len() >= want
    };
    if lo < hi {
        match source {
            Source::All => {
                if backwards {
                    for pos in lo..hi {
                        if consider(pos) {
                            break;
                        }
                    }
                } else {
                    for pos in (lo..hi).rev() {
                        if consider(pos) {
                            break;
                        }
                    }
                }
            }
            Source::Positions(mut set) => {
                set.sort_unstable();
                set.dedup();
                set.retain(|&p| p >= lo && p < hi);
                if backwards {
                    for pos in set {
                        if consider(pos) {
                            break;
                        }
                    }
                } else {
                    for pos in set.into_iter().rev() {
                        if consider(pos) {
                            break;
                        }
                    }
                }
            }
        }
    }
    let has_more = picked.len() > args.limit;
    picked.truncate(args.limit);
    if backwards {
        picked.reverse();
    }
    let data: Vec<Value> = picked
        .into_iter()
        .map(|o| serde_json::to_value(o).unwrap_or(Value::Null))
        .collect();
    Ok(json!({
        "object": "list",
        "data": data,
        "has_more": has_more,
        "url": url,
    }))
}
