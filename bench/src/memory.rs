//! Backend memory: peak RSS (VmHWM) of a fresh backend after a full products scan, small vs large.

use crate::db::{backend_pid, connect, drain, mapped_library, vm_hwm_kb};
use crate::Ctx;

/// Allowed growth of the backend's peak RSS from the small to the large scan.
const FLAT_KB: u64 = 5 * 1024;

/// (peak kB before the scan, after the library is loaded; peak kB after the scan).
fn peak(ctx: &mut Ctx, products: usize) -> (u64, u64) {
    ctx.catalog(products, 1, 0);
    let mut db = connect();
    let pid = backend_pid(&mut db);
    drain(&mut db, "select * from bench.products limit 1");
    let before = vm_hwm_kb(pid);
    let rows = drain(&mut db, "select * from bench.products");
    assert_eq!(rows as usize, products, "memory scan row count");
    println!("memory: backend {pid} mapped {}", mapped_library(pid));
    (before, vm_hwm_kb(pid))
}

pub fn run(ctx: &mut Ctx) {
    let small = 1_000;
    let large = ctx.args.mem_products;
    let (s0, s1) = peak(ctx, small);
    let (l0, l1) = peak(ctx, large);
    let mb = |kb: u64| format!("{:.1} MB", kb as f64 / 1024.0);
    ctx.line(
        "memory",
        format!(
            "backend VmHWM, {small}-product scan (before scan: {})",
            mb(s0)
        ),
        mb(s1),
    );
    ctx.line(
        "memory",
        format!(
            "backend VmHWM, {large}-product scan (before scan: {})",
            mb(l0)
        ),
        mb(l1),
    );
    let growth = l1.saturating_sub(s1);
    ctx.target(
        "memory",
        format!("peak growth {small} -> {large} products"),
        mb(growth),
        format!("<= {}", mb(FLAT_KB)),
        Some(growth <= FLAT_KB),
    );
}
