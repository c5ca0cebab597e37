//! The executor callbacks, and the one owner of the scan state's memory.
//!
//! Lifetimes, by owner:
//! - the plan holds only copyable data (src/plandata.rs), so any re-execution of a cached plan
//!   (SQL functions, PL/pgSQL, prepared statements, cursors, SPI plans) starts from scratch;
//! - the scan state is a Rust `Box` made at `BeginForeignScan` and owned by the executor's
//!   per-query memory context: a reset callback on that context drops it, whether the query ends,
//!   fails or is cancelled. `node->fdw_state` is a borrowed pointer to it, valid while the
//!   executor runs this node;
//! - row datums live in a memory context of our own (a child of the query context), reset before
//!   each row, which is when Postgres is done with the previous one.

use crate::error::{FdwError, OrRaise};
use crate::pgopts::options_map;
use crate::plandata::PlanData;
use crate::scan::{Scan, Target};
use crate::{planner, secrets, transport, values};
use pgrx::pg_sys::{self, Oid};
use pgrx::prelude::*;
use pgrx::{is_a, PgList};
use std::ffi::CString;
use stripe_fdw_core::client::{Client, ClientConfig};
use stripe_fdw_core::objects;
use stripe_fdw_core::options::ServerOptions;
use stripe_fdw_core::plan::{plan, Cond, Fetch, Plan};
use stripe_fdw_core::spec::ObjectSpec;

/// One scan node's state, from BeginForeignScan until its query's memory is released.
struct ScanState {
    data: PlanData,
    spec: &'static ObjectSpec,
    relid: Oid,
    opts: ServerOptions,
    /// None under EXPLAIN without ANALYZE (no key is looked up, nothing is sent).
    cfg: Option<ClientConfig>,
    /// The ExprStates of the plan's fdw_exprs (allocated in the query context).
    exprs: Vec<*mut pg_sys::ExprState>,
    row_ctx: pg_sys::MemoryContext,
    scan: Option<Scan>,
    /// The last request planned, for EXPLAIN, and whether it was a list (pages) or retrieves.
    request: Option<String>,
    list: bool,
    /// Requests sent by every run of this node (rescans included), for EXPLAIN ANALYZE.
    requests: u64,
    /// How the last list scan was split, for EXPLAIN ANALYZE.
    split: Option<String>,
}

unsafe extern "C-unwind" fn drop_state(arg: *mut std::ffi::c_void) {
    if !arg.is_null() {
        drop(unsafe { Box::from_raw(arg as *mut ScanState) });
    }
}

/// The role whose user mapping and privileges apply: the view owner when the table is read through
/// a view (the range table entry's checkAsUser), else the current user — postgres_fdw's rule.
unsafe fn checked_user(node: *mut pg_sys::ForeignScanState) -> Oid {
    unsafe {
        let estate = (*node).ss.ps.state;
        let plan = (*node).ss.ps.plan as *mut pg_sys::ForeignScan;
        let rti = (*plan).scan.scanrelid as usize;
        let rtable = PgList::<pg_sys::RangeTblEntry>::from_pg((*estate).es_range_table);
        match rti.checked_sub(1).and_then(|i| rtable.get_ptr(i)) {
            Some(rte) if (*rte).checkAsUser != pg_sys::InvalidOid => (*rte).checkAsUser,
            _ => pg_sys::GetUserId(),
        }
    }
}

unsafe fn state<'a>(node: *mut pg_sys::ForeignScanState) -> Result<&'a mut ScanState, FdwError> {
    unsafe {
        let p = (*node).fdw_state as *mut ScanState;
        p.as_mut()
            .ok_or_else(|| FdwError::Internal("the scan has no state".into()))
    }
}

unsafe fn begin_scan_state(
    node: *mut pg_sys::ForeignScanState,
    eflags: i32,
) -> Result<(), FdwError> {
    unsafe {
        let plan = (*node).ss.ps.plan as *mut pg_sys::ForeignScan;
        let data = PlanData::from_list((*plan).fdw_private)?;
        let spec = objects::find(&data.object)
            .ok_or_else(|| FdwError::Internal(format!("unknown object {}", data.object)))?;
        let rel = (*node).ss.ss_currentRelation;
        if rel.is_null() {
            return Err(FdwError::Internal("the scan has no relation".into()));
        }
        let relid = (*rel).rd_id;
        let ftable = pg_sys::GetForeignTable(relid);
        let server = pg_sys::GetForeignServer((*ftable).serverid);
        let opts = ServerOptions::parse(&options_map((*server).options))?;
        let explain_only = eflags & pg_sys::EXEC_FLAG_EXPLAIN_ONLY as i32 != 0;
        let cfg = if explain_only {
            None
        } else {
            let name = std::ffi::CStr::from_ptr((*server).servername).to_string_lossy();
            let api_key = secrets::api_key(
                (*server).serverid,
                &name,
                &opts.secret,
                checked_user(node),
                (*server).owner,
            )?;
            Some(ClientConfig::from_options(&opts, api_key))
        };
        let exprs = PgList::<pg_sys::ExprState>::from_pg(pg_sys::ExecInitExprList(
            (*plan).fdw_exprs,
            node as *mut pg_sys::PlanState,
        ))
        .iter_ptr()
        .collect();
        let query_cxt = (*(*node).ss.ps.state).es_query_cxt;
        let name = c"stripe_fdw rows";
        let row_ctx = pg_sys::AllocSetContextCreateExtended(
            query_cxt,
            name.as_ptr(),
            pg_sys::ALLOCSET_DEFAULT_MINSIZE as usize,
            pg_sys::ALLOCSET_DEFAULT_INITSIZE as usize,
            pg_sys::ALLOCSET_DEFAULT_MAXSIZE as usize,
        );
        let boxed = Box::into_raw(Box::new(ScanState {
            data,
            spec,
            relid,
            opts,
            cfg,
            exprs,
            row_ctx,
            scan: None,
            request: None,
            list: false,
            requests: 0,
            split: None,
        }));
        // From here the query context owns the state; nothing below can fail.
        let cb = pg_sys::MemoryContextAllocZero(
            query_cxt,
            std::mem::size_of::<pg_sys::MemoryContextCallback>(),
        ) as *mut pg_sys::MemoryContextCallback;
        (*cb).func = Some(drop_state);
        (*cb).arg = boxed as *mut std::ffi::c_void;
        pg_sys::MemoryContextRegisterResetCallback(query_cxt, cb);
        (*node).fdw_state = boxed as *mut std::ffi::c_void;
        Ok(())
    }
}

#[pg_guard]
pub unsafe extern "C-unwind" fn begin(node: *mut pg_sys::ForeignScanState, eflags: i32) {
    unsafe { begin_scan_state(node, eflags).or_raise() }
}

/// The pushed conditions with their current values. `safe_only`: evaluate only constants and
/// query parameters (EXPLAIN without running anything: an expression could hold the output of a
/// subquery); the rest are left out and counted.
unsafe fn conditions(
    node: *mut pg_sys::ForeignScanState,
    s: &ScanState,
    safe_only: bool,
) -> (Vec<Cond>, usize) {
    unsafe {
        let plan = (*node).ss.ps.plan as *mut pg_sys::ForeignScan;
        let nodes = PgList::<pg_sys::Node>::from_pg((*plan).fdw_exprs);
        let econtext = (*node).ss.ps.ps_ExprContext;
        let mut out = Vec::new();
        let mut unknown = 0;
        for (i, c) in s.data.conds.iter().enumerate() {
            let (Some(expr), Some(&state)) = (nodes.get_ptr(i), s.exprs.get(i)) else {
                continue;
            };
            let known_now = is_a(expr, pg_sys::NodeTag::T_Const)
                || (is_a(expr, pg_sys::NodeTag::T_Param)
                    && (*(expr as *mut pg_sys::Param)).paramkind
                        == pg_sys::ParamKind::PARAM_EXTERN);
            if safe_only && !known_now {
                // Only a condition Stripe can filter by is sent once its value is known.
                unknown += usize::from(c.filtered);
                continue;
            }
            let Some(eval) = (*state).evalfunc else {
                continue;
            };
            let mut isnull = false;
            let datum = eval(state, econtext, &mut isnull);
            let ty = pg_sys::exprType(expr);
            let value = if c.array {
                values::array(datum, isnull, ty)
            } else {
                values::scalar(datum, isnull, ty).map(|v| vec![v])
            };
            out.extend(values::cond(c, value));
        }
        (out, unknown)
    }
}

/// The foreign table's name, for messages.
unsafe fn relation_name(relid: Oid) -> String {
    let name = unsafe { pg_sys::get_rel_name(relid) };
    if name.is_null() {
        return String::new();
    }
    unsafe { std::ffi::CStr::from_ptr(name) }
        .to_string_lossy()
        .into_owned()
}

fn plan_for(s: &ScanState, conds: &[Cond]) -> Plan {
    plan(s.spec, conds, s.data.limit)
}

/// Plan the requests with the parameters' current values and start the scan.
unsafe fn start(node: *mut pg_sys::ForeignScanState, s: &mut ScanState) -> Result<(), FdwError> {
    let (conds, _) = unsafe { conditions(node, s, false) };
    let p = plan_for(s, &conds);
    s.request = Some(p.describe(s.spec, &s.opts.api_url));
    s.list = matches!(p.fetch, Fetch::List(_));
    if let Fetch::NeedsCondition(column) = p.fetch {
        return Err(FdwError::NeedsCondition {
            table: unsafe { relation_name(s.relid) },
            spec: s.spec,
            column,
        });
    }
    let cfg = s
        .cfg
        .clone()
        .ok_or_else(|| FdwError::Internal("scan started under EXPLAIN".into()))?;
    let client = Client::new(transport::get(cfg.connect_timeout)?, cfg)?;
    let targets: Vec<Target> = s
        .data
        .targets
        .iter()
        .filter_map(|t| {
            Some(Target {
                spec: s.spec.column(&t.column)?,
                oid: Oid::from(t.type_oid),
                index: usize::try_from(t.attnum).ok()?.checked_sub(1)?,
            })
        })
        .collect();
    // List pages keep only the fields the columns read (all of them when one reads the whole
    // object): skipping the rest while parsing is most of what count(*) and narrow scans save.
    let fields = targets
        .iter()
        .map(|t| (!t.spec.path.is_empty()).then_some(t.spec))
        .collect::<Option<Vec<_>>>()
        .map(|specs| {
            specs
                .iter()
                .flat_map(|c| c.path.first().into_iter().chain(c.fallback.first()))
                .map(|f| f.to_string())
                .collect()
        });
    let client = client.keeping(fields);
    // In Stripe's order (the planner relies on it) one page at a time; else up to max_concurrency.
    let concurrency = if s.data.ordered {
        1
    } else {
        s.opts.max_concurrency
    };
    s.scan = Some(Scan::new(s.spec, client, &p, targets, concurrency));
    Ok(())
}

unsafe fn next_slot(
    node: *mut pg_sys::ForeignScanState,
) -> Result<*mut pg_sys::TupleTableSlot, FdwError> {
    unsafe {
        let s = state(node)?;
        let slot = (*node).ss.ss_ScanTupleSlot;
        if let Some(clear) = (*(*slot).tts_ops).clear {
            clear(slot);
        }
        pg_sys::MemoryContextReset(s.row_ctx);
        let old = pg_sys::CurrentMemoryContext;
        pg_sys::CurrentMemoryContext = s.row_ctx;
        let result = next_row(node, s, slot);
        pg_sys::CurrentMemoryContext = old;
        if result? {
            pg_sys::ExecStoreVirtualTuple(slot);
        }
        Ok(slot)
    }
}

unsafe fn next_row(
    node: *mut pg_sys::ForeignScanState,
    s: &mut ScanState,
    slot: *mut pg_sys::TupleTableSlot,
) -> Result<bool, FdwError> {
    unsafe {
        if s.scan.is_none() {
            start(node, s)?;
        }
        let natts = usize::try_from((*(*slot).tts_tupleDescriptor).natts).unwrap_or(0);
        let values = std::slice::from_raw_parts_mut((*slot).tts_values, natts);
        let nulls = std::slice::from_raw_parts_mut((*slot).tts_isnull, natts);
        nulls.fill(true);
        let Some(scan) = s.scan.as_mut() else {
            return Ok(false);
        };
        let before = scan.requests;
        let more = scan.next_row(values, nulls);
        s.requests += scan.requests - before;
        if let Some(split) = scan.split() {
            s.split = Some(split);
        }
        let more = more?;
        if !more && scan.unfiltered() && scan.finished() {
            planner::seen_rows(s.relid, scan.rows as i64);
        }
        Ok(more)
    }
}

#[pg_guard]
pub unsafe extern "C-unwind" fn iterate(
    node: *mut pg_sys::ForeignScanState,
) -> *mut pg_sys::TupleTableSlot {
    unsafe { next_slot(node).or_raise() }
}

#[pg_guard]
pub unsafe extern "C-unwind" fn rescan(node: *mut pg_sys::ForeignScanState) {
    // Start over at the next row, with the parameters' values at that time.
    if let Ok(s) = unsafe { state(node) } {
        s.scan = None;
    }
}

#[pg_guard]
pub unsafe extern "C-unwind" fn end(node: *mut pg_sys::ForeignScanState) {
    // Release the connection work now; the state itself goes with the query's memory.
    if let Ok(s) = unsafe { state(node) } {
        s.scan = None;
    }
}

#[pg_guard]
pub unsafe extern "C-unwind" fn explain(
    node: *mut pg_sys::ForeignScanState,
    es: *mut pg_sys::ExplainState,
) {
    unsafe {
        let Ok(s) = state(node) else { return };
        let (text, list) = match &s.request {
            Some(r) => (r.clone(), s.list),
            None => {
                let (conds, unknown) = conditions(node, s, true);
                let p = plan_for(s, &conds);
                let mut text = p.describe(s.spec, &s.opts.api_url);
                if unknown > 0 {
                    text.push_str(&format!(
                        "; {unknown} condition(s) on parameters pushed when known"
                    ));
                }
                (text, matches!(p.fetch, Fetch::List(_)))
            }
        };
        let property = |label: &std::ffi::CStr, value: &str| {
            if let Ok(v) = CString::new(value) {
                pg_sys::ExplainPropertyText(label.as_ptr(), v.as_ptr(), es);
            }
        };
        property(c"Stripe Request", &text);
        match &s.split {
            Some(split) if (*es).analyze => property(c"Stripe Scan", split),
            // Newest first only when the plan is one list query (batches are each newest first).
            _ if list && s.data.ordered => {
                property(c"Stripe Scan", "one page at a time, newest first")
            }
            _ if list && s.opts.max_concurrency <= 1 => {
                property(c"Stripe Scan", "one page at a time")
            }
            // Slices need Stripe's created filter: without it the list is paged one page at a time.
            _ if list
                && s.spec.filters.iter().any(|f| {
                    matches!(f.kind, stripe_fdw_core::spec::FilterKind::Range("created"))
                }) =>
            {
                property(
                    c"Stripe Scan",
                    &format!(
                        "up to {} pages at a time over slices of created",
                        s.opts.max_concurrency
                    ),
                )
            }
            _ if list => property(c"Stripe Scan", "one page at a time"),
            _ => {}
        }
        if (*es).analyze {
            pg_sys::ExplainPropertyInteger(
                c"Stripe Requests Sent".as_ptr(),
                std::ptr::null(),
                s.requests as i64,
                es,
            );
        }
    }
}
