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
    if let Some(param) = &q.param {
        // The value was evaluated for this execution only if eval_value is set.
        let known = param
            .eval_value
            .lock()
            .map(|v| v.is_some())
            .unwrap_or(false);
        if !known {
            return None;
        }
    }
    let op = op(&q.operator)?;
    match (&q.value, q.use_or) {
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
