//! Pushdown: quals and LIMIT become the Stripe requests of one scan. Pure; never touches the network.
//!
//! Its one law: it may fetch more rows than the query needs, never fewer. Postgres re-checks every
//! qual, so over-fetching is safe and under-fetching is a wrong answer. LIMIT only shrinks the first
//! page; the scan ends when Postgres stops asking for rows, never because a page count ran out.

use crate::spec::{Access, FilterKind, IdsStrategy, ObjectSpec};
use std::collections::BTreeSet;

#[path = "plan_ids.rs"]
mod ids;
pub use ids::path_safe_id;
use ids::possible_id;

#[path = "plan_describe.rs"]
mod describe;

/// A constant (or an already evaluated parameter) compared with a column.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Text(String),
    Bool(bool),
    /// A timestamp, in microseconds since the Unix epoch.
    Time(i64),
}

/// A comparison Stripe can do, as the planner pushes it (serialised into the plan as is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Op {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
    /// Postgres' built-in `~~` (`LIKE`, case-sensitive); the cond's one value is
    /// `Scalar::Text(pattern)`. Only a `'prefix.%'` pattern is ever pushed (see [`like_prefix`]).
    Like,
}

/// One qual Postgres gave us: `column op value`, or `column = ANY(values)` when `values` has several.
#[derive(Debug, Clone, PartialEq)]
pub struct Cond {
    pub column: String,
    pub op: Op,
    pub values: Vec<Scalar>,
}

impl Cond {
    pub fn new(column: &str, op: Op, value: Scalar) -> Self {
        Cond {
            column: column.to_string(),
            op,
            values: vec![value],
        }
    }
    pub fn any(column: &str, values: Vec<Scalar>) -> Self {
        Cond {
            column: column.to_string(),
            op: Op::Eq,
            values,
        }
    }
}

/// One list request and the pages after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Filter parameters, without `limit` and cursors (the page iterator adds those).
    pub params: Vec<(String, String)>,
    /// False for `ids[]` batches: Stripe takes no cursor with `ids[]`, so the batch is one page.
    pub paged: bool,
}

/// What a scan fetches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetch {
    /// The quals contradict each other: no row can match, no request is needed.
    Nothing,
    /// One `GET /<endpoint>/<id>` per id; a 404 is no row.
    Retrieve(Vec<String>),
    /// List requests, each followed through its pages.
    List(Vec<ListQuery>),
    /// `GET /<endpoint>`: the one object of its kind (the balance).
    Single,
    /// Stripe cannot answer without a condition on this column (`id` for a retrieve-only object,
    /// a required list parameter otherwise): the scan is an error saying which condition to add.
    NeedsCondition(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub fetch: Fetch,
    /// `limit` of the first page of each list request (1..=100); later pages ask for 100.
    pub first_page_limit: u32,
}

pub const MAX_PAGE: u32 = 100;

/// Plan the requests for `spec` given the pushable quals and the query's LIMIT/OFFSET.
pub fn plan(spec: &ObjectSpec, conds: &[Cond], limit: Option<(i64, i64)>) -> Plan {
    let first_page_limit = match limit {
        Some((count, offset)) => {
            let want = count.max(0).saturating_add(offset.max(0));
            want.clamp(1, MAX_PAGE as i64) as u32
        }
        None => MAX_PAGE,
    };
    let fetch = fetch_for(spec, conds);
    let first_page_limit = match &fetch {
        // An ids[] batch cannot page, so it must always ask for the whole batch.
        Fetch::List(qs) if qs.iter().any(|q| !q.paged) => MAX_PAGE,
        _ => first_page_limit,
    };
    Plan {
        fetch,
        first_page_limit,
    }
}

/// The set of text values a column must take, from all its `=` and `IN` quals (their intersection).
/// `None`: no such qual. `Some(empty)`: they contradict each other.
fn text_set(conds: &[Cond], column: &str) -> Option<BTreeSet<String>> {
    let mut acc: Option<BTreeSet<String>> = None;
    for c in conds
        .iter()
        .filter(|c| c.column == column && c.op == Op::Eq)
    {
        let vals: Option<BTreeSet<String>> = c
            .values
            .iter()
            .map(|v| match v {
                Scalar::Text(s) => Some(s.clone()),
                _ => None,
            })
            .collect();
        let Some(vals) = vals else { continue };
        acc = Some(match acc {
            None => vals,
            Some(prev) => prev.intersection(&vals).cloned().collect(),
        });
    }
    acc
}

fn bool_value(conds: &[Cond], column: &str) -> Option<Option<bool>> {
    let mut acc: Option<bool> = None;
    for c in conds
        .iter()
        .filter(|c| c.column == column && c.op == Op::Eq && c.values.len() == 1)
    {
        if let Some(Scalar::Bool(b)) = c.values.first() {
            match acc {
                Some(prev) if prev != *b => return Some(None),
                _ => acc = Some(*b),
            }
        }
    }
    acc.map(Some)
}

/// Integer-second bounds `[lo, hi]` implied by the comparisons on a timestamp column.
/// `None`: no comparison. `Some(None)`: no integer second satisfies them all.
fn time_bounds(conds: &[Cond], column: &str) -> Option<Option<(Option<i64>, Option<i64>)>> {
    const US: i64 = 1_000_000;
    let mut lo: Option<i64> = None;
    let mut hi: Option<i64> = None;
    let mut any = false;
    for c in conds
        .iter()
        .filter(|c| c.column == column && c.values.len() == 1)
    {
        let Some(Scalar::Time(t)) = c.values.first() else {
            continue;
        };
        let (floor, ceil) = (t.div_euclid(US), -(-t).div_euclid(US));
        let (l, h) = match c.op {
            Op::Gt => (Some(floor + 1), None),
            Op::Ge => (Some(ceil), None),
            Op::Lt => (None, Some(ceil - 1)),
            Op::Le => (None, Some(floor)),
            Op::Eq if t.rem_euclid(US) == 0 => (Some(floor), Some(floor)),
            Op::Eq => return Some(None),
            Op::Like => continue,
        };
        any = true;
        lo = match (lo, l) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        hi = match (hi, h) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    if !any {
        return None;
    }
    match (lo, hi) {
        (Some(l), Some(h)) if l > h => Some(None),
        bounds => Some(Some(bounds)),
    }
}

/// The literal prefix of a LIKE pattern Stripe's `type` wildcard can express: `'<prefix>.%'` with
/// at least one character before the '.', exactly one trailing '%' and no other '%', '_' or '\\'
/// (no escapes, no single-character wildcards). Returns `"<prefix>."`; anything else is `None`
/// and stays with Postgres.
pub fn like_prefix(pattern: &str) -> Option<&str> {
    let prefix = pattern.strip_suffix('%')?;
    let ok = prefix.len() > 1 && prefix.ends_with('.') && !prefix.contains(['%', '_', '\\']);
    ok.then_some(prefix)
}

/// The one prefix every pushable `LIKE` on `column` implies (the longest, when they nest).
/// `None`: no pushable LIKE. `Some(None)`: two prefixes no string can both start with.
fn like_bound(conds: &[Cond], column: &str) -> Option<Option<String>> {
    let mut acc: Option<String> = None;
    for c in conds
        .iter()
        .filter(|c| c.column == column && c.op == Op::Like && c.values.len() == 1)
    {
        let Some(Scalar::Text(pattern)) = c.values.first() else {
            continue;
        };
        let Some(p) = like_prefix(pattern) else {
            continue;
        };
        acc = Some(match acc {
            None => p.to_string(),
            Some(prev) if prev.starts_with(p) => prev,
            Some(prev) if p.starts_with(prev.as_str()) => p.to_string(),
            Some(_) => return Some(None),
        });
    }
    acc.map(Some)
}

fn fetch_for(spec: &ObjectSpec, conds: &[Cond]) -> Fetch {
    if let Access::Single { .. } = spec.access {
        return Fetch::Single;
    }
    let ids = if spec.ids == IdsStrategy::Unsupported {
        None
    } else {
        text_set(conds, "id")
    };
    let ids = ids.map(|set| {
        set.into_iter()
            .filter(|id| possible_id(id))
            .collect::<BTreeSet<_>>()
    });
    if let Some(ids) = &ids {
        let all_safe = ids.iter().all(|id| path_safe_id(id));
        match spec.ids {
            // Only ids Stripe could have become a path segment; Stripe generates these objects'
            // ids, so any other id matches nothing.
            IdsStrategy::Retrieve => {
                let safe: Vec<String> = ids.iter().filter(|id| path_safe_id(id)).cloned().collect();
                return if safe.is_empty() {
                    Fetch::Nothing
                } else {
                    Fetch::Retrieve(safe)
                };
            }
            IdsStrategy::ListParam { .. } if ids.is_empty() => return Fetch::Nothing,
            IdsStrategy::ListParam { .. } if ids.len() == 1 && all_safe => {
                return Fetch::Retrieve(ids.iter().cloned().collect());
            }
            IdsStrategy::ListParam { .. } | IdsStrategy::Unsupported => {}
        }
    }
    if spec.access == Access::RetrieveOnly {
        return Fetch::NeedsCondition("id");
    }

    let mut params: Vec<(String, String)> = Vec::new();
    // The one array filter sent in batches (ids[] or, failing that, the first ArrayIn filter).
    let mut batched: Option<(&str, Vec<String>, usize, bool)> = None;
    if let (Some(ids), IdsStrategy::ListParam { param, max }) = (&ids, spec.ids) {
        batched = Some((param, ids.iter().cloned().collect(), max, false));
    }

    for f in spec.filters {
        match f.kind {
            FilterKind::TextEq(param) | FilterKind::TextEnum(param, _) => {
                let Some(set) = text_set(conds, f.column) else {
                    continue;
                };
                if set.is_empty() {
                    return Fetch::Nothing;
                }
                if set.len() != 1 {
                    continue;
                }
                let Some(v) = set.into_iter().next() else {
                    continue;
                };
                if let FilterKind::TextEnum(_, allowed) = f.kind {
                    if !allowed.contains(&v.as_str()) {
                        // Stripe would reject the value; Postgres filters it to no rows instead.
                        continue;
                    }
                }
                params.push((param.to_string(), v));
            }
            FilterKind::TextEqEach(param) => {
                let Some(set) = text_set(conds, f.column) else {
                    continue;
                };
                if set.is_empty() {
                    return Fetch::Nothing;
                }
                if set.len() == 1 {
                    params.extend(set.into_iter().map(|v| (param.to_string(), v)));
                } else if batched.is_none() {
                    batched = Some((param, set.into_iter().collect(), 1, true));
                }
            }
            FilterKind::BoolEq(param) => match bool_value(conds, f.column) {
                None => {}
                Some(None) => return Fetch::Nothing,
                Some(Some(b)) => params.push((param.to_string(), b.to_string())),
            },
            FilterKind::Range(param) => match time_bounds(conds, f.column) {
                None => {}
                Some(None) => return Fetch::Nothing,
                Some(Some((Some(l), Some(h)))) if l == h => {
                    params.push((param.to_string(), l.to_string()))
                }
                Some(Some((l, h))) => {
                    if let Some(l) = l {
                        params.push((format!("{param}[gte]"), l.to_string()));
                    }
                    if let Some(h) = h {
                        params.push((format!("{param}[lte]"), h.to_string()));
                    }
                }
            },
            FilterKind::ArrayIn { param, max } => {
                let Some(set) = text_set(conds, f.column) else {
                    continue;
                };
                if set.is_empty() {
                    return Fetch::Nothing;
                }
                if batched.is_none() {
                    batched = Some((param, set.into_iter().collect(), max, true));
                }
            }
            FilterKind::EventType { param, array, max } => {
                let prefix = match like_bound(conds, f.column) {
                    None => None,
                    Some(None) => return Fetch::Nothing,
                    Some(Some(p)) => Some(p),
                };
                let fits = |v: &String| prefix.as_ref().is_none_or(|p| v.starts_with(p.as_str()));
                let wildcard = prefix.as_ref().map(|p| format!("{p}*"));
                match text_set(conds, f.column) {
                    Some(set) => {
                        // Values the LIKE excludes can match no row.
                        let set: Vec<String> = set.into_iter().filter(fits).collect();
                        if set.is_empty() {
                            return Fetch::Nothing;
                        }
                        if set.len() == 1 {
                            params.extend(set.into_iter().map(|v| (param.to_string(), v)));
                        } else if batched.is_none() {
                            batched = Some((array, set, max, true));
                        } else {
                            // Another array filter took the batches: the wildcard still narrows.
                            params.extend(wildcard.map(|w| (param.to_string(), w)));
                        }
                    }
                    None => params.extend(wildcard.map(|w| (param.to_string(), w))),
                }
            }
        }
    }

    if let Access::List {
        required: Some(column),
    } = spec.access
    {
        let param = spec.filter(column).map(|f| filter_param(f.kind));
        let sent = |p: &str| {
            params.iter().any(|(k, _)| k == p) || batched.as_ref().is_some_and(|b| b.0 == p)
        };
        if !param.is_some_and(sent) {
            return Fetch::NeedsCondition(column);
        }
    }
    for (param, value) in spec.defaults {
        if !params.iter().any(|(k, _)| k == param) {
            params.push((param.to_string(), value.to_string()));
        }
    }

    match batched {
        None => Fetch::List(vec![ListQuery {
            params,
            paged: true,
        }]),
        Some((param, values, max, paged)) => Fetch::List(
            values
                .chunks(max.max(1))
                .map(|chunk| {
                    let mut p = params.clone();
                    p.extend(chunk.iter().map(|v| (param.to_string(), v.clone())));
                    ListQuery { params: p, paged }
                })
                .collect(),
        ),
    }
}

/// The parameter a filter sends (for a range, its name without the bracketed operator).
fn filter_param(kind: FilterKind) -> &'static str {
    match kind {
        FilterKind::TextEq(p)
        | FilterKind::TextEnum(p, _)
        | FilterKind::TextEqEach(p)
        | FilterKind::BoolEq(p)
        | FilterKind::Range(p)
        | FilterKind::ArrayIn { param: p, .. }
        | FilterKind::EventType { param: p, .. } => p,
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "plan_events_tests.rs"]
mod events_tests;

#[cfg(test)]
#[path = "plan_objects_tests.rs"]
mod objects_tests;
