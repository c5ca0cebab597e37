//! IMPORT FOREIGN SCHEMA: one foreign table per Stripe object, named as Supabase Wrappers names them
//! (`checkout_sessions` for object `checkout/sessions`) and idempotent like Wrappers' (a table that
//! exists is kept), with LIMIT TO / EXCEPT names stripe_fdw has no table for skipped with a NOTICE,
//! as postgres_fdw and Wrappers skip them.

use crate::error::{FdwError, OrRaise};
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::PgList;
use std::ffi::{CStr, CString};
use stripe_fdw_core::objects;

unsafe fn text(p: *const std::ffi::c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        unsafe { CStr::from_ptr(p).to_string_lossy().into_owned() }
    }
}

unsafe fn statements(stmt: *mut pg_sys::ImportForeignSchemaStmt) -> Result<Vec<String>, FdwError> {
    unsafe {
        let remote = text((*stmt).remote_schema);
        if remote != "stripe" {
            return Err(FdwError::ImportSchema {
                message: format!("stripe_fdw has no remote schema \"{remote}\""),
                hint: "Use IMPORT FOREIGN SCHEMA stripe FROM SERVER ... INTO ...".into(),
            });
        }
        let local = text((*stmt).local_schema);
        let server = text((*stmt).server_name);
        let listed: Vec<String> = PgList::<pg_sys::RangeVar>::from_pg((*stmt).table_list)
            .iter_ptr()
            .filter(|rv| !rv.is_null())
            .map(|rv| text((*rv).relname))
            .collect();
        let kind = (*stmt).list_type;
        let filtered = kind != pg_sys::ImportForeignSchemaType::FDW_IMPORT_SCHEMA_ALL;
        if filtered {
            let unknown: Vec<&str> = listed
                .iter()
                .filter(|n| objects::by_table(n).is_none())
                .map(String::as_str)
                .collect();
            if !unknown.is_empty() {
                notice!(
                    "stripe_fdw has no object {}; skipped (it has: {})",
                    unknown.join(", "),
                    objects::ALL
                        .iter()
                        .map(|o| o.table)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        let wanted = |name: &str| match kind {
            pg_sys::ImportForeignSchemaType::FDW_IMPORT_SCHEMA_LIMIT_TO => {
                listed.iter().any(|n| n == name)
            }
            pg_sys::ImportForeignSchemaType::FDW_IMPORT_SCHEMA_EXCEPT => {
                !listed.iter().any(|n| n == name)
            }
            _ => true,
        };
        Ok(objects::ALL
            .iter()
            .filter(|o| wanted(o.table))
            .map(|o| o.create_table_sql(&local, &server))
            .collect())
    }
}

#[pg_guard]
pub unsafe extern "C-unwind" fn import(
    stmt: *mut pg_sys::ImportForeignSchemaStmt,
    _server: pg_sys::Oid,
) -> *mut pg_sys::List {
    unsafe {
        let mut out = PgList::<std::ffi::c_char>::new();
        for sql in statements(stmt).or_raise() {
            if let Ok(c) = CString::new(sql) {
                out.push(pg_sys::pstrdup(c.as_ptr()));
            }
        }
        out.into_pg()
    }
}
