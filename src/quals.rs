//! Postgres quals (as supabase-wrappers extracts them) to the planner's conditions.
//!
//! Only what maps exactly is translated; everything else is left to Postgres, which re-checks
//! every qual anyway. A parameter whose value is not known (NULL, or not yet evaluated) is skipped.

use crate::cells::timestamptz_unix_micros;
use stripe_fdw_core::plan::{Cond, Op, Scalar};
use supabase_wrappers::prelude::{Cell, Qual, Value};

fn scalar(cell: &Cell) -> Option<Scalar> {
    match cell {
        Cell::String(s) => Some(Scalar::Text(s.clone())),
        Cell::Bool(b) => Some(Scalar::Bool(*b)),
        Cell::Timestamptz(ts) => timestamptz_unix_micros(*ts).map(Scalar::Time),
        _ => None,
    }
}

fn op(operator: &str) -> Option<Op> {
    Some(match operator {
        "=" => Op::Eq,
        "<" => Op::Lt,
        "<=" => Op::Le,
        ">" => Op::Gt,
        ">=" => Op::Ge,
        _ => return None,
    })
}

/// The conditions that can be pushed to Stripe.
pub fn to_conds(quals: &[Qual]) -> Vec<Cond> {
    quals.iter().filter_map(to_cond).collect()
}

fn to_cond(q: &Qual) -> Option<Cond> {
    // A parameter's current value (supabase-wrappers evaluates it before each row; its copy of
    // the qual is updated, ours shares only eval_value). None yet, or NULL: not pushed.
    let param_value = match &q.param {
        Some(param) => Some(param.eval_value.lock().ok()?.clone()?),
        None => None,
    };
    let value = param_value.as_ref().unwrap_or(&q.value);
    let op = op(&q.operator)?;
    match (value, q.use_or) {
        (Value::Cell(c), false) => Some(Cond {
            column: q.field.clone(),
            op,
            values: vec![scalar(c)?],
        }),
        // `col = ANY(array)` / `col IN (...)`; a NULL element matches nothing, so it is dropped.
        (Value::Array(cells), true) if op == Op::Eq => {
            let values: Vec<Scalar> = cells.iter().filter_map(scalar).collect();
            if values.len() != cells.len() || values.is_empty() {
                return None;
            }
            Some(Cond::any(&q.field, values))
        }
        _ => None,
    }
}
