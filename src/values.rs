//! The values of pushed conditions: constants and parameters, evaluated when a scan starts, as the
//! planner's scalars. A NULL, or a type Stripe cannot compare, is not pushed (Postgres filters).

use crate::plandata::CondData;
use pgrx::datum::{FromDatum, Timestamp, TimestampWithTimeZone};
use pgrx::pg_sys::{self, Datum, Oid};
use stripe_fdw_core::plan::{Cond, Scalar};

/// One scalar of type `oid`; None for NULL or a type the planner does not take.
///
/// # Safety
/// `datum` is a valid datum of type `oid` (or `isnull`).
pub unsafe fn scalar(datum: Datum, isnull: bool, oid: Oid) -> Option<Scalar> {
    if isnull {
        return None;
    }
    unsafe {
        match oid {
            pg_sys::TEXTOID | pg_sys::VARCHAROID | pg_sys::BPCHAROID => {
                String::from_datum(datum, false).map(Scalar::Text)
            }
            pg_sys::BOOLOID => bool::from_datum(datum, false).map(Scalar::Bool),
            pg_sys::TIMESTAMPTZOID => {
                let ts = TimestampWithTimeZone::from_datum(datum, false)?;
                let us: i64 = ts.into();
                stripe_fdw_core::pgtime::to_unix_micros(us).map(Scalar::Time)
            }
            // A `timestamp` column holds Stripe's time as UTC wall time.
            pg_sys::TIMESTAMPOID => {
                let ts = Timestamp::from_datum(datum, false)?;
                let us: i64 = ts.into();
                stripe_fdw_core::pgtime::to_unix_micros(us).map(Scalar::Time)
            }
            _ => None,
        }
    }
}

/// The scalars of a text array; None when it holds a NULL (the condition is then left to Postgres).
///
/// # Safety
/// `datum` is a valid array datum of type `oid` (or `isnull`).
pub unsafe fn array(datum: Datum, isnull: bool, oid: Oid) -> Option<Vec<Scalar>> {
    if isnull || (oid != pg_sys::TEXTARRAYOID && oid != pg_sys::VARCHARARRAYOID) {
        return None;
    }
    let items = unsafe { Vec::<Option<String>>::from_datum(datum, false)? };
    items
        .into_iter()
        .map(|i| i.map(Scalar::Text))
        .collect::<Option<Vec<_>>>()
        .filter(|v| !v.is_empty())
}

/// A condition with its evaluated value, or None when it cannot be pushed with this value.
pub fn cond(c: &CondData, value: Option<Vec<Scalar>>) -> Option<Cond> {
    let values = value?;
    if !c.array && values.len() != 1 {
        return None;
    }
    Some(Cond {
        column: c.column.clone(),
        op: c.op,
        values,
    })
}

/// The value of a `Const` node at planning time (for EXPLAIN and estimates); None for a parameter.
///
/// # Safety
/// `node` is a `Const` or `Param` node.
pub unsafe fn const_value(node: *mut pg_sys::Node, array: bool) -> Option<Vec<Scalar>> {
    unsafe {
        if !pgrx::is_a(node, pg_sys::NodeTag::T_Const) {
            return None;
        }
        let c = node as *mut pg_sys::Const;
        if array {
            self::array((*c).constvalue, (*c).constisnull, (*c).consttype)
        } else {
            scalar((*c).constvalue, (*c).constisnull, (*c).consttype).map(|s| vec![s])
        }
    }
}
