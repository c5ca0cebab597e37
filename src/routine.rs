//! The SQL entry points of the wrapper, named as Supabase Wrappers names them so its DDL works
//! unchanged: `stripe_fdw_handler()` (the FDW callbacks), `stripe_fdw_validator(text[], oid)` and
//! `stripe_fdw_meta()`.

use crate::error::{FdwError, OrRaise};
use crate::{exec, import, planner};
use pgrx::pg_sys::{self, Oid};
use pgrx::prelude::*;
use pgrx::{AllocatedByRust, PgBox};
use stripe_fdw_core::options::{validate, Scope};

/// The FDW callbacks. Only reads: without modify callbacks Postgres itself refuses INSERT, UPDATE
/// and DELETE ("cannot insert into foreign table", 0A000) before anything reaches Stripe.
#[pg_extern(create_or_replace)]
#[search_path(pg_catalog, pg_temp)]
fn stripe_fdw_handler() -> PgBox<pg_sys::FdwRoutine, AllocatedByRust> {
    unsafe {
        let mut r =
            PgBox::<pg_sys::FdwRoutine, AllocatedByRust>::alloc_node(pg_sys::NodeTag::T_FdwRoutine);
        r.GetForeignRelSize = Some(planner::get_rel_size);
        r.GetForeignPaths = Some(planner::get_paths);
        r.GetForeignPlan = Some(planner::get_plan);
        r.BeginForeignScan = Some(exec::begin);
        r.IterateForeignScan = Some(exec::iterate);
        r.ReScanForeignScan = Some(exec::rescan);
        r.EndForeignScan = Some(exec::end);
        r.ExplainForeignScan = Some(exec::explain);
        r.ImportForeignSchema = Some(import::import);
        r
    }
}

/// Checks the options of `CREATE/ALTER` wrapper, server, user mapping and foreign table.
#[pg_extern(create_or_replace)]
#[search_path(pg_catalog, pg_temp)]
fn stripe_fdw_validator(options: Vec<Option<String>>, catalog: Option<Oid>) {
    let pairs: Vec<(String, String)> = options
        .into_iter()
        .flatten()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (kv, String::new()),
        })
        .collect();
    let scope = match catalog {
        Some(c) if c == pg_sys::ForeignDataWrapperRelationId => Scope::Wrapper,
        Some(c) if c == pg_sys::ForeignServerRelationId => Scope::Server,
        Some(c) if c == pg_sys::ForeignTableRelationId => Scope::Table,
        Some(c) if c == pg_sys::UserMappingRelationId => Scope::UserMapping,
        Some(c) if c == pg_sys::AttributeRelationId => Scope::Column,
        _ => return,
    };
    validate(scope, &pairs).map_err(FdwError::from).or_raise()
}

/// What Supabase Wrappers' `<name>_fdw_meta()` returns: the wrapper's name, version and links.
#[allow(clippy::type_complexity)]
#[pg_extern(create_or_replace)]
#[search_path(pg_catalog, pg_temp)]
fn stripe_fdw_meta() -> TableIterator<
    'static,
    (
        name!(name, Option<String>),
        name!(version, Option<String>),
        name!(author, Option<String>),
        name!(website, Option<String>),
    ),
> {
    TableIterator::new(std::iter::once((
        Some("StripeFdw".to_string()),
        Some(env!("CARGO_PKG_VERSION").to_string()),
        Some("stripe_fdw developers".to_string()),
        Some("https://github.com/stripe-fdw/stripe_fdw".to_string()),
    )))
}
