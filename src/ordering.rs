//! What the query's ORDER BY and LIMIT let a scan do: serve `created DESC` in Stripe's own order,
//! and shrink the first page.

use crate::analysis::Analysis;
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::{is_a, PgList};

/// A constant LIMIT/OFFSET of a query without grouping or aggregates and with no ORDER BY (or one
/// the scan's own order satisfies): the first page need hold no more rows than that. Used only
/// when every condition is pushed to Stripe: otherwise Postgres may drop rows of a short page.
pub unsafe fn query_limit(root: *mut pg_sys::PlannerInfo, ordered: bool) -> Option<(i64, i64)> {
    unsafe {
        let parse = (*root).parse;
        if parse.is_null()
            || !(*parse).groupClause.is_null()
            || (*parse).hasAggs
            || (*parse).hasWindowFuncs
            || !(*parse).distinctClause.is_null()
            || !(*parse).setOperations.is_null()
            || (!(*parse).sortClause.is_null() && !ordered)
        {
            return None;
        }
        let konst = |n: *mut pg_sys::Node| -> Option<Option<i64>> {
            if n.is_null() {
                return Some(None);
            }
            if !is_a(n, pg_sys::NodeTag::T_Const) {
                return None;
            }
            let c = n as *mut pg_sys::Const;
            if (*c).constisnull || (*c).consttype != pg_sys::INT8OID {
                return None;
            }
            Some(i64::from_datum((*c).constvalue, false))
        };
        let count = konst((*parse).limitCount)??;
        let offset = konst((*parse).limitOffset)?.unwrap_or(0);
        Some((count, offset))
    }
}

/// The query's ORDER BY when it is `created DESC` on this relation alone, which Stripe's lists
/// already give (newest first; rows created in the same second may come in any order, as the
/// ORDER BY allows). Only for scans served by one paged list: never for retrieves by id or for
/// batched `[]` filters, whose rows come in several runs.
pub unsafe fn created_desc(
    root: *mut pg_sys::PlannerInfo,
    a: &Analysis,
    baserel: *mut pg_sys::RelOptInfo,
) -> *mut pg_sys::List {
    unsafe {
        if a.pushable
            .iter()
            .any(|p| p.cond.array || p.cond.column == "id")
        {
            return std::ptr::null_mut();
        }
        let keys = PgList::<pg_sys::PathKey>::from_pg((*root).query_pathkeys);
        if keys.len() != 1 {
            return std::ptr::null_mut();
        }
        let Some(key) = keys.get_ptr(0) else {
            return std::ptr::null_mut();
        };
        if (*key).pk_strategy != pg_sys::BTGreaterStrategyNumber as i32
            || (*key).pk_eclass.is_null()
        {
            return std::ptr::null_mut();
        }
        let Some(created) = a.columns.iter().find(|c| c.name == "created") else {
            return std::ptr::null_mut();
        };
        let family = pg_sys::get_opclass_family(pg_sys::GetDefaultOpClass(
            created.type_oid,
            pg_sys::BTREE_AM_OID,
        ));
        if (*key).pk_opfamily != family {
            return std::ptr::null_mut();
        }
        let members = PgList::<pg_sys::EquivalenceMember>::from_pg((*(*key).pk_eclass).ec_members);
        let ours = members.iter_ptr().any(|m| {
            let e = (*m).em_expr as *mut pg_sys::Node;
            !e.is_null()
                && is_a(e, pg_sys::NodeTag::T_Var)
                && (*(e as *mut pg_sys::Var)).varno as pg_sys::Index == (*baserel).relid
                && (*(e as *mut pg_sys::Var)).varlevelsup == 0
                && (*(e as *mut pg_sys::Var)).varattno == created.attnum
        });
        if ours {
            (*root).query_pathkeys
        } else {
            std::ptr::null_mut()
        }
    }
}
