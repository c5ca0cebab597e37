//! What supabase-wrappers sees of a relation's restrictions: the clauses it can extract, copied to
//! memory that outlives the scan's planning, and the others wrapped so it skips them quietly.

use pgrx::memcxt::PgMemoryContexts;
use pgrx::{is_a, pg_sys, PgList};

/// The node under any binary-compatible casts (what supabase-wrappers looks at, too).
unsafe fn strip(mut node: *mut pg_sys::Node) -> *mut pg_sys::Node {
    unsafe {
        while !node.is_null() && is_a(node, pg_sys::NodeTag::T_RelabelType) {
            node = (*(node as *mut pg_sys::RelabelType)).arg as *mut pg_sys::Node;
        }
        node
    }
}

/// A column of the scanned relation (`relid` is its range-table index).
unsafe fn is_own_var(node: *mut pg_sys::Node, relid: pg_sys::Index) -> bool {
    unsafe {
        if node.is_null() || !is_a(node, pg_sys::NodeTag::T_Var) {
            return false;
        }
        let v = node as *mut pg_sys::Var;
        (*v).varno as pg_sys::Index == relid && (*v).varattno >= 1 && (*v).varlevelsup == 0
    }
}

unsafe fn is_value(node: *mut pg_sys::Node) -> bool {
    unsafe {
        !node.is_null()
            && (is_a(node, pg_sys::NodeTag::T_Const) || is_a(node, pg_sys::NodeTag::T_Param))
    }
}

/// Can supabase-wrappers turn this clause into a qual without complaint?
unsafe fn is_extractable(clause: *mut pg_sys::Node, relid: pg_sys::Index) -> bool {
    unsafe {
        if clause.is_null() {
            return false;
        }
        if is_own_var(clause, relid) {
            return (*(clause as *mut pg_sys::Var)).vartype == pg_sys::BOOLOID;
        }
        if is_a(clause, pg_sys::NodeTag::T_OpExpr) {
            let args = PgList::<pg_sys::Node>::from_pg((*(clause as *mut pg_sys::OpExpr)).args);
            if args.len() != 2 {
                return false;
            }
            let (l, r) = (
                strip(args.get_ptr(0).unwrap_or(std::ptr::null_mut())),
                strip(args.get_ptr(1).unwrap_or(std::ptr::null_mut())),
            );
            return (is_own_var(l, relid) && is_value(r)) || (is_value(l) && is_own_var(r, relid));
        }
        if is_a(clause, pg_sys::NodeTag::T_ScalarArrayOpExpr) {
            let args =
                PgList::<pg_sys::Node>::from_pg((*(clause as *mut pg_sys::ScalarArrayOpExpr)).args);
            if args.len() != 2 {
                return false;
            }
            let (l, r) = (
                strip(args.get_ptr(0).unwrap_or(std::ptr::null_mut())),
                strip(args.get_ptr(1).unwrap_or(std::ptr::null_mut())),
            );
            return is_own_var(l, relid) && !r.is_null() && is_a(r, pg_sys::NodeTag::T_Const);
        }
        if is_a(clause, pg_sys::NodeTag::T_BoolExpr) {
            let b = clause as *mut pg_sys::BoolExpr;
            let args = PgList::<pg_sys::Node>::from_pg((*b).args);
            return (*b).boolop == pg_sys::BoolExprType::NOT_EXPR
                && args.len() == 1
                && is_own_var(args.get_ptr(0).unwrap_or(std::ptr::null_mut()), relid)
                && (*(args.get_ptr(0).unwrap_or(std::ptr::null_mut()) as *mut pg_sys::Var))
                    .vartype
                    == pg_sys::BOOLOID;
        }
        false
    }
}

/// baserestrictinfo as supabase-wrappers should see it, as a new list in transaction memory.
///
/// A clause it can extract is copied, so the Params it keeps pointers to live until the scan ends.
/// Any other clause is wrapped in a one-argument AND, which it skips without a warning while
/// still finding the columns the clause reads (so they are fetched for Postgres to check it).
///
/// # Safety
/// `restrictinfo` must be a relation's `baserestrictinfo` list (of `RestrictInfo`) or null.
pub unsafe fn extractable(
    relid: pg_sys::Index,
    restrictinfo: *mut pg_sys::List,
) -> *mut pg_sys::List {
    unsafe {
        let all = PgList::<pg_sys::RestrictInfo>::from_pg(restrictinfo);
        PgMemoryContexts::TopTransactionContext.switch_to(|_| {
            let mut out = PgList::<pg_sys::RestrictInfo>::new();
            for rinfo in all.iter_ptr() {
                if rinfo.is_null() {
                    continue;
                }
                let clause = (*rinfo).clause as *mut pg_sys::Node;
                let copy = pg_sys::palloc(std::mem::size_of::<pg_sys::RestrictInfo>())
                    as *mut pg_sys::RestrictInfo;
                std::ptr::copy_nonoverlapping(rinfo, copy, 1);
                (*copy).clause = if is_extractable(clause, relid) {
                    pg_sys::copyObjectImpl(clause as *const std::ffi::c_void) as *mut pg_sys::Expr
                } else {
                    let mut args = PgList::<pg_sys::Node>::new();
                    args.push(clause);
                    pg_sys::makeBoolExpr(pg_sys::BoolExprType::AND_EXPR, args.into_pg(), -1)
                };
                out.push(copy);
            }
            out.into_pg()
        })
    }
}
