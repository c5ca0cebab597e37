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
    pub rows: Cell<u64>,
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

static REL_SIZE: OnceLock<RelSizeFn> = OnceLock::new();
static BEGIN: OnceLock<BeginFn> = OnceLock::new();
static END: OnceLock<EndFn> = OnceLock::new();

/// Replace four callbacks with ours, each calling the original.
pub fn install(routine: &mut FdwRoutine<AllocatedByRust>) {
    if let Some(f) = routine.GetForeignRelSize {
        let _ = REL_SIZE.set(f);
        routine.GetForeignRelSize = Some(rel_size);
    }
    if let Some(f) = routine.BeginForeignScan {
        let _ = BEGIN.set(f);
        routine.BeginForeignScan = Some(begin);
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
            f(root, baserel, oid);
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
        if let Some(f) = BEGIN.get() {
            f(node, eflags);
        }
    }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn end(node: *mut pg_sys::ForeignScanState) {
    unsafe {
        if !node.is_null() {
            let key = (*node).fdw_state as usize;
            BY_STATE.with(|m| m.borrow_mut().retain(|(k, _)| *k != key));
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
