//! Our wrappers around supabase-wrappers' FDW callbacks: EXPLAIN shows the Stripe request, a
//! cached plan is never executed twice (supabase-wrappers frees a plan's scan state at scan end),
//! and the tables are read-only.

use pgrx::pg_sys;
use pgrx::AllocatedByRust;
use std::cell::{Cell, RefCell};
use std::ffi::CString;
use std::rc::Rc;
use std::sync::OnceLock;
use supabase_wrappers::FdwRoutine;

/// What EXPLAIN shows for one scan; the scan updates the counters as it runs.
#[derive(Default)]
pub struct ExplainInfo {
    pub request: RefCell<String>,
    pub requests: Cell<u64>,
}

/// Plans kept for EXPLAIN at most; older entries (plans never executed) are dropped.
const MAX_TRACKED: usize = 64;

thread_local! {
    static LAST_PLANNED: RefCell<Option<Rc<ExplainInfo>>> = const { RefCell::new(None) };
    static BY_STATE: RefCell<Vec<(usize, Rc<ExplainInfo>)>> = const { RefCell::new(Vec::new()) };
}

/// Called by the FDW at planning: the info of the scan being planned right now.
pub fn planned(info: Rc<ExplainInfo>) {
    LAST_PLANNED.with(|l| *l.borrow_mut() = Some(info));
}

fn lookup(state: usize) -> Option<Rc<ExplainInfo>> {
    BY_STATE.with(|m| {
        m.borrow()
            .iter()
            .find(|(k, _)| *k == state)
            .map(|(_, v)| v.clone())
    })
}

type RelSizeFn =
    unsafe extern "C-unwind" fn(*mut pg_sys::PlannerInfo, *mut pg_sys::RelOptInfo, pg_sys::Oid);
type BeginFn = unsafe extern "C-unwind" fn(*mut pg_sys::ForeignScanState, i32);
type EndFn = unsafe extern "C-unwind" fn(*mut pg_sys::ForeignScanState);
type IterFn =
    unsafe extern "C-unwind" fn(*mut pg_sys::ForeignScanState) -> *mut pg_sys::TupleTableSlot;

static REL_SIZE: OnceLock<RelSizeFn> = OnceLock::new();
static BEGIN: OnceLock<BeginFn> = OnceLock::new();
static END: OnceLock<EndFn> = OnceLock::new();
static ITERATE: OnceLock<IterFn> = OnceLock::new();

thread_local! {
    /// The memory context each running scan builds its row datums in, by scan node.
    static ROW_CONTEXTS: RefCell<Vec<(usize, pg_sys::MemoryContext)>> = const { RefCell::new(Vec::new()) };
}

fn row_context(node: usize) -> Option<pg_sys::MemoryContext> {
    ROW_CONTEXTS.with(|m| m.borrow().iter().find(|(k, _)| *k == node).map(|(_, c)| *c))
}

/// Replace five callbacks with ours, each calling the original.
pub fn install(routine: &mut FdwRoutine<AllocatedByRust>) {
    if let Some(f) = routine.GetForeignRelSize {
        let _ = REL_SIZE.set(f);
        routine.GetForeignRelSize = Some(rel_size);
    }
    if let Some(f) = routine.BeginForeignScan {
        let _ = BEGIN.set(f);
        routine.BeginForeignScan = Some(begin);
    }
    if let Some(f) = routine.IterateForeignScan {
        let _ = ITERATE.set(f);
        routine.IterateForeignScan = Some(iterate);
    }
    if let Some(f) = routine.EndForeignScan {
        let _ = END.set(f);
        routine.EndForeignScan = Some(end);
    }
    routine.ExplainForeignScan = Some(explain);
    // Read-only: without modify callbacks Postgres itself refuses INSERT/UPDATE/DELETE with
    // "cannot insert into foreign table" (0A000) before anything reaches Stripe.
    routine.AddForeignUpdateTargets = None;
    routine.PlanForeignModify = None;
    routine.BeginForeignModify = None;
    routine.ExecForeignInsert = None;
    routine.ExecForeignUpdate = None;
    routine.ExecForeignDelete = None;
    routine.EndForeignModify = None;
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn rel_size(
    root: *mut pg_sys::PlannerInfo,
    baserel: *mut pg_sys::RelOptInfo,
    oid: pg_sys::Oid,
) {
    unsafe {
        if let Some(f) = REL_SIZE.get() {
            if baserel.is_null() {
                f(root, baserel, oid);
            } else {
                // supabase-wrappers reads the quals from baserestrictinfo: show it only the clauses
                // of a shape it can extract (it warns, with a node dump, about any other), copied
                // into transaction memory (it keeps pointers to their Params until the scan ends,
                // and the planner's copies may be freed first: with the extended protocol, the
                // Bind message's memory is gone by Execute). Postgres still checks every clause.
                let all = (*baserel).baserestrictinfo;
                (*baserel).baserestrictinfo = crate::restrict::extractable((*baserel).relid, all);
                f(root, baserel, oid);
                (*baserel).baserestrictinfo = all;
            }
        }
        let info = LAST_PLANNED.with(|l| l.borrow_mut().take());
        if let (Some(info), false) = (info, baserel.is_null()) {
            let key = (*baserel).fdw_private as usize;
            BY_STATE.with(|m| {
                let mut m = m.borrow_mut();
                m.retain(|(k, _)| *k != key);
                if m.len() >= MAX_TRACKED {
                    m.remove(0);
                }
                m.push((key, info));
            });
        }
    }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn begin(node: *mut pg_sys::ForeignScanState, eflags: i32) {
    unsafe {
        // supabase-wrappers keeps the scan state's address in the plan and frees the state when
        // the scan ends (or fails), so a cached plan run a second time would use freed memory.
        // Invalidating cached plans makes Postgres plan afresh on the next execution instead.
        pg_sys::ResetPlanCache();
        // A scan that ended in an error never reached `end`; a new scan node at the same address
        // must not inherit its (deleted) row context.
        ROW_CONTEXTS.with(|m| m.borrow_mut().retain(|(k, _)| *k != node as usize));
        if let Some(f) = BEGIN.get() {
            f(node, eflags);
        }
    }
}

/// supabase-wrappers builds every row's datums in one scan-long memory context and never resets it,
/// so a scan's memory grew with its row count. The previous row is no longer needed when Postgres
/// asks for the next one (the FDW contract), so that context is reset before each new row. It is
/// found from the first by-reference datum in it that the scan returns. (supabase-wrappers' aggregate
/// pushdown, which stripe_fdw does not enable, keeps a heap tuple in that context across calls; this
/// reset would be wrong for it.)
#[pgrx::pg_guard]
unsafe extern "C-unwind" fn iterate(
    node: *mut pg_sys::ForeignScanState,
) -> *mut pg_sys::TupleTableSlot {
    unsafe {
        let key = node as usize;
        let known = row_context(key);
        if let Some(ctx) = known {
            pg_sys::MemoryContextReset(ctx);
        }
        let Some(f) = ITERATE.get() else {
            return std::ptr::null_mut();
        };
        let slot = f(node);
        if known.is_none() && !slot.is_null() && !(*slot).tts_tupleDescriptor.is_null() {
            // Our own jsonb datums live in the executor's per-tuple context, which the executor
            // resets itself; the context to find is the other one, supabase-wrappers'.
            let econtext = (*node).ss.ps.ps_ExprContext;
            let per_tuple = if econtext.is_null() {
                std::ptr::null_mut()
            } else {
                (*econtext).ecxt_per_tuple_memory
            };
            let desc = (*slot).tts_tupleDescriptor;
            let natts = usize::try_from((*slot).tts_nvalid)
                .unwrap_or(0)
                .min((*desc).natts.max(0) as usize);
            let attrs = (*desc).attrs.as_slice(natts);
            for (i, attr) in attrs.iter().enumerate() {
                if attr.attbyval || *(*slot).tts_isnull.add(i) {
                    continue;
                }
                let datum = *(*slot).tts_values.add(i);
                let ctx = pg_sys::GetMemoryChunkContext(datum.cast_mut_ptr());
                if !ctx.is_null() && ctx != per_tuple {
                    ROW_CONTEXTS.with(|m| m.borrow_mut().push((key, ctx)));
                    break;
                }
            }
        }
        slot
    }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn end(node: *mut pg_sys::ForeignScanState) {
    unsafe {
        if !node.is_null() {
            let key = (*node).fdw_state as usize;
            BY_STATE.with(|m| m.borrow_mut().retain(|(k, _)| *k != key));
            ROW_CONTEXTS.with(|m| m.borrow_mut().retain(|(k, _)| *k != node as usize));
        }
        if let Some(f) = END.get() {
            f(node);
        }
    }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn explain(
    node: *mut pg_sys::ForeignScanState,
    es: *mut pg_sys::ExplainState,
) {
    unsafe {
        if node.is_null() || es.is_null() {
            return;
        }
        let Some(info) = lookup((*node).fdw_state as usize) else {
            return;
        };
        let text = |label: &str, value: &str| {
            if let (Ok(l), Ok(v)) = (CString::new(label), CString::new(value)) {
                pg_sys::ExplainPropertyText(l.as_ptr(), v.as_ptr(), es);
            }
        };
        text("Stripe Request", &info.request.borrow());
        if (*es).analyze {
            if let Ok(l) = CString::new("Stripe Requests Sent") {
                pg_sys::ExplainPropertyInteger(
                    l.as_ptr(),
                    std::ptr::null(),
                    info.requests.get() as i64,
                    es,
                );
            }
        }
    }
}
