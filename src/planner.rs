//! The planning callbacks: row estimates, the one path, and the plan, whose private data is plain
//! copyable data (src/plandata.rs) — nothing in a plan points to memory the extension owns.

use crate::analysis::Analysis;
use crate::error::{FdwError, OrRaise};
use crate::ordering::{created_desc, query_limit};
use crate::pgopts::{options_map, table_columns, type_name, DeclaredColumn};
use crate::plandata::{PlanData, TargetData};
use crate::pushdown::classify;
use crate::{cells, values};
use pgrx::pg_sys::{self, Oid};
use pgrx::prelude::*;
use pgrx::PgList;
use std::cell::RefCell;
use std::collections::HashMap;
use stripe_fdw_core::options::TableOptions;
use stripe_fdw_core::plan::{plan, Fetch, Plan};
use stripe_fdw_core::spec::ObjectSpec;

thread_local! {
    /// Row counts of complete unfiltered scans, by foreign table, for planner estimates.
    static SEEN_ROWS: RefCell<HashMap<u32, i64>> = RefCell::new(HashMap::new());
}

/// Used when nothing better is known: a typical small catalog.
const DEFAULT_ROWS: i64 = 1000;

/// Remember how many rows a complete unfiltered scan of `relid` returned.
pub fn seen_rows(relid: Oid, rows: i64) {
    SEEN_ROWS.with(|m| m.borrow_mut().insert(relid.to_u32(), rows));
}

fn unknown_column(table: String, column: String, spec: &ObjectSpec) -> FdwError {
    FdwError::UnknownColumn {
        table,
        column,
        object: spec.name,
        known: spec
            .columns
            .iter()
            .map(|c| c.name)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// Every declared column must be a column of the object, of a type that can hold it.
fn check_columns(
    table: String,
    cols: &[DeclaredColumn],
    spec: &'static ObjectSpec,
) -> Result<(), FdwError> {
    for c in cols {
        let Some(cs) = spec.column(&c.name) else {
            return Err(unknown_column(table, c.name.clone(), spec));
        };
        if !cells::accepts(cs.ty, c.type_oid) {
            return Err(FdwError::ColumnType {
                table,
                column: c.name.clone(),
                declared: type_name(c.type_oid),
                expected: cs.ty.sql_name(),
            });
        }
    }
    Ok(())
}

unsafe fn analyze(
    root: *mut pg_sys::PlannerInfo,
    baserel: *mut pg_sys::RelOptInfo,
    relid: Oid,
    clauses: *mut pg_sys::List,
) -> Result<Analysis, FdwError> {
    unsafe {
        let ftable = pg_sys::GetForeignTable(relid);
        let options = options_map((*ftable).options);
        let table = TableOptions::parse(&options)?;
        let spec = table.object;
        let startup_cost = options
            .get("startup_cost")
            .and_then(|c| c.trim().parse::<f64>().ok())
            .unwrap_or(0.0);
        let (name, columns) = table_columns(relid)?;
        check_columns(name, &columns, spec)?;
        let mut by_attnum: Vec<Option<String>> = Vec::new();
        for c in &columns {
            let i = usize::try_from(c.attnum).unwrap_or(0);
            if by_attnum.len() < i {
                by_attnum.resize(i, None);
            }
            if let Some(slot) = i.checked_sub(1).and_then(|i| by_attnum.get_mut(i)) {
                *slot = Some(c.name.clone());
            }
        }
        let (pushable, all_pushed) = classify(clauses, (*baserel).relid, &by_attnum, spec);
        let limit = if all_pushed {
            query_limit(root, false)
        } else {
            None
        };
        Ok(Analysis {
            spec,
            table,
            startup_cost,
            columns,
            pushable,
            all_pushed,
            limit,
        })
    }
}

/// The requests as far as they are known at planning (constants only).
unsafe fn const_plan(a: &Analysis) -> Plan {
    let conds: Vec<_> = a
        .pushable
        .iter()
        .filter_map(|p| {
            values::cond(&p.cond, unsafe {
                values::const_value(p.value, p.cond.array)
            })
        })
        .collect();
    plan(a.spec, &conds, a.limit)
}

fn estimate(p: &Plan, a: &Analysis, relid: Oid) -> i64 {
    match &p.fetch {
        Fetch::Nothing | Fetch::NeedsCondition(_) => 1,
        Fetch::Single => 2,
        Fetch::Retrieve(ids) => ids.len() as i64,
        Fetch::List(qs) if qs.iter().any(|q| !q.paged) => qs
            .iter()
            .map(|q| q.params.iter().filter(|(k, _)| k.ends_with("[]")).count() as i64)
            .sum::<i64>()
            .max(1),
        Fetch::List(qs) => {
            let all = a
                .table
                .estimated_rows
                .or_else(|| SEEN_ROWS.with(|m| m.borrow().get(&relid.to_u32()).copied()))
                .unwrap_or(DEFAULT_ROWS);
            let filtered =
                !a.pushable.is_empty() || qs.first().is_some_and(|q| !q.params.is_empty());
            if filtered {
                (all / 10).max(1)
            } else {
                all.max(1)
            }
        }
    }
}

/// The relation's analysis, made once per plan: `get_rel_size` makes it and leaves it in
/// `baserel->fdw_private` (in the planner's memory context, which drops it with the plan's
/// temporaries); `get_paths` and `get_plan` read it there.
unsafe fn analysis<'a>(
    root: *mut pg_sys::PlannerInfo,
    baserel: *mut pg_sys::RelOptInfo,
    relid: Oid,
) -> &'a Analysis {
    unsafe {
        if let Some(a) = ((*baserel).fdw_private as *const Analysis).as_ref() {
            return a;
        }
        let a = analyze(root, baserel, relid, (*baserel).baserestrictinfo).or_raise();
        let p = pgrx::PgMemoryContexts::CurrentMemoryContext.leak_and_drop_on_delete(a);
        (*baserel).fdw_private = p as *mut std::ffi::c_void;
        &*p
    }
}

#[pg_guard]
pub unsafe extern "C-unwind" fn get_rel_size(
    root: *mut pg_sys::PlannerInfo,
    baserel: *mut pg_sys::RelOptInfo,
    relid: Oid,
) {
    unsafe {
        let a = analysis(root, baserel, relid);
        let p = const_plan(a);
        (*baserel).rows = estimate(&p, a, relid) as f64;
        if !(*baserel).reltarget.is_null() {
            (*(*baserel).reltarget).width = 64 * a.spec.columns.len().min(8) as i32;
        }
    }
}

#[pg_guard]
pub unsafe extern "C-unwind" fn get_paths(
    root: *mut pg_sys::PlannerInfo,
    baserel: *mut pg_sys::RelOptInfo,
    relid: Oid,
) {
    unsafe {
        let a = analysis(root, baserel, relid);
        let rows = (*baserel).rows;
        let add = |pathkeys: *mut pg_sys::List| {
            let path = pg_sys::create_foreignscan_path(
                root,
                baserel,
                std::ptr::null_mut(),
                rows,
                a.startup_cost,
                a.startup_cost + rows,
                pathkeys,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            );
            pg_sys::add_path(baserel, path as *mut pg_sys::Path);
        };
        add(std::ptr::null_mut());
        // The same scan in Stripe's order, for ORDER BY created DESC: no Sort, and with a LIMIT
        // the scan stops after the rows it needs.
        let ordered = created_desc(root, a, baserel);
        if !ordered.is_null() {
            add(ordered);
        }
    }
}

/// The path's own target list (what `build_path_tlist` makes): only the expressions the query
/// reads above the scan. Postgres hands a base relation's scan its physical target list (every
/// column) when a projection can be saved; here the extra columns would only be NULLs, and
/// `EXPLAIN VERBOSE` would list columns no one reads.
unsafe fn path_tlist(path: *mut pg_sys::Path) -> *mut pg_sys::List {
    unsafe {
        let target = (*path).pathtarget;
        let mut out = PgList::<pg_sys::TargetEntry>::new();
        if target.is_null() {
            return out.into_pg();
        }
        let exprs = PgList::<pg_sys::Expr>::from_pg((*target).exprs);
        for (i, expr) in exprs.iter_ptr().enumerate() {
            let Ok(resno) = i16::try_from(i + 1) else {
                break;
            };
            let tle = pg_sys::makeTargetEntry(expr, resno, std::ptr::null_mut(), false);
            if !(*target).sortgrouprefs.is_null() {
                (*tle).ressortgroupref = *(*target).sortgrouprefs.add(i);
            }
            out.push(tle);
        }
        out.into_pg()
    }
}

/// The attribute numbers the query reads: of the target list and of every condition.
unsafe fn used_attnums(
    baserel: *mut pg_sys::RelOptInfo,
    clauses: *mut pg_sys::List,
) -> (Vec<i16>, bool) {
    unsafe {
        let mut attrs: *mut pg_sys::Bitmapset = std::ptr::null_mut();
        let relid = (*baserel).relid;
        if !(*baserel).reltarget.is_null() {
            pg_sys::pull_varattnos(
                (*(*baserel).reltarget).exprs as *mut pg_sys::Node,
                relid,
                &mut attrs,
            );
        }
        pg_sys::pull_varattnos(clauses as *mut pg_sys::Node, relid, &mut attrs);
        let offset = pg_sys::FirstLowInvalidHeapAttributeNumber;
        let mut out = Vec::new();
        let mut whole_row = false;
        let mut i = -1;
        loop {
            i = pg_sys::bms_next_member(attrs, i);
            if i < 0 {
                break;
            }
            let attnum = i + offset;
            if attnum == 0 {
                whole_row = true;
            } else if attnum > 0 {
                out.push(attnum as i16);
            }
        }
        (out, whole_row)
    }
}

#[pg_guard]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C-unwind" fn get_plan(
    root: *mut pg_sys::PlannerInfo,
    baserel: *mut pg_sys::RelOptInfo,
    relid: Oid,
    best_path: *mut pg_sys::ForeignPath,
    tlist: *mut pg_sys::List,
    scan_clauses: *mut pg_sys::List,
    outer_plan: *mut pg_sys::Plan,
) -> *mut pg_sys::ForeignScan {
    unsafe {
        // Without parameterized paths the scan's clauses are the relation's restrictions, which
        // the analysis was made from.
        let a = analysis(root, baserel, relid);
        let ordered = !best_path.is_null() && !(*best_path).path.pathkeys.is_null();
        let limit = if ordered && a.all_pushed {
            query_limit(root, true)
        } else {
            a.limit
        };
        let actual = pg_sys::extract_actual_clauses(scan_clauses, false);
        let (attnums, whole_row) = used_attnums(baserel, actual);
        let targets = a
            .columns
            .iter()
            .filter(|c| whole_row || attnums.contains(&c.attnum))
            .map(|c| TargetData {
                attnum: c.attnum,
                column: c.name.clone(),
                type_oid: c.type_oid.to_u32(),
            })
            .collect();
        let mut exprs = PgList::<pg_sys::Node>::new();
        let conds = a
            .pushable
            .iter()
            .map(|p| {
                exprs.push(p.value);
                p.cond.clone()
            })
            .collect();
        let data = PlanData {
            object: a.spec.name.to_string(),
            conds,
            targets,
            limit,
            ordered,
        };
        let private = data.to_list().or_raise();
        // Postgres checks every condition itself (the planner's law: fetch more, never fewer).
        let tlist = if best_path.is_null() {
            tlist
        } else {
            path_tlist(&mut (*best_path).path)
        };
        pg_sys::make_foreignscan(
            tlist,
            actual,
            (*baserel).relid,
            exprs.into_pg(),
            private,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            outer_plan,
        )
    }
}
