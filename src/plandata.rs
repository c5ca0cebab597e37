//! What the planner hands the executor, as plain data inside the plan: copyable, so a plan cached
//! by a SQL function, PL/pgSQL, a prepared statement or a cursor can be run any number of times.
//!
//! The plan's `fdw_private` is a one-element list holding this struct as JSON (a `String` node);
//! the values of the pushed conditions are the plan's `fdw_exprs`, in `conds` order. No pointer to
//! Rust memory is ever kept in a plan.

use crate::error::FdwError;
use pgrx::pg_sys;
use pgrx::{is_a, PgList};
use serde::{Deserialize, Serialize};
use std::ffi::{CStr, CString};
use stripe_fdw_core::plan::Op;

/// One condition the planner found pushable, as the plan keeps it; its value is `fdw_exprs[i]`
/// for the i-th condition.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct CondData {
    pub column: String,
    pub op: Op,
    pub array: bool,
    /// The object has a Stripe filter for this column and operator (else Postgres alone checks
    /// it, and the condition only bounds what the scan may skip).
    pub filtered: bool,
}

/// A column the scan fills: its attribute number, Stripe column name and declared type.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct TargetData {
    pub attnum: i16,
    pub column: String,
    pub type_oid: u32,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct PlanData {
    pub object: String,
    pub conds: Vec<CondData>,
    pub targets: Vec<TargetData>,
    /// LIMIT/OFFSET that may shrink the first page (only when Postgres checks nothing alone).
    pub limit: Option<(i64, i64)>,
    /// Rows come in Stripe's list order (`created` descending) and the planner relies on it.
    pub ordered: bool,
}

impl PlanData {
    /// The plan's `fdw_private`: a list of one `String` node, in the current memory context.
    pub fn to_list(&self) -> Result<*mut pg_sys::List, FdwError> {
        let json = serde_json::to_string(self)
            .map_err(|e| FdwError::Internal(format!("plan data: {e}")))?;
        let c = CString::new(json).map_err(|e| FdwError::Internal(format!("plan data: {e}")))?;
        unsafe {
            let node = pg_sys::makeString(pg_sys::pstrdup(c.as_ptr()));
            let mut list = PgList::<pg_sys::Node>::new();
            list.push(node as *mut pg_sys::Node);
            Ok(list.into_pg())
        }
    }

    /// Read it back from a plan's `fdw_private`.
    ///
    /// # Safety
    /// `list` is a plan's `fdw_private` (or null).
    pub unsafe fn from_list(list: *mut pg_sys::List) -> Result<PlanData, FdwError> {
        let bad = || FdwError::Internal("the plan holds no stripe_fdw scan data".into());
        unsafe {
            let list = PgList::<pg_sys::Node>::from_pg(list);
            let node = list.get_ptr(0).ok_or_else(bad)?;
            if !is_a(node, pg_sys::NodeTag::T_String) {
                return Err(bad());
            }
            let s = (*(node as *mut pg_sys::String)).sval;
            if s.is_null() {
                return Err(bad());
            }
            let text = CStr::from_ptr(s).to_string_lossy();
            serde_json::from_str(&text).map_err(|e| FdwError::Internal(format!("plan data: {e}")))
        }
    }
}
