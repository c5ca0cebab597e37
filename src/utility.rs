//! DDL that sets a secret, built as parse nodes and run through ProcessUtility: event triggers
//! and audit hooks (pgaudit) see the command as if it were typed, with a statement text that
//! names the options but never holds their values.

use crate::error::FdwError;
use crate::webhook::Raise;
use pgrx::pg_sys;
use pgrx::prelude::*;
use std::collections::HashMap;
use std::ffi::CString;

pub(crate) fn cstring(s: &str) -> Result<CString, Raise> {
    CString::new(s).map_err(|_| {
        Raise::from(FdwError::Internal(
            "an option name or value holds a NUL byte".into(),
        ))
    })
}

/// An OPTIONS list: ADD for an option `have` lacks, SET for one it has. Allocated in the current
/// memory context (the statement's), like the parser's own nodes.
pub(crate) fn options(
    have: &HashMap<String, String>,
    values: &[(&str, &str)],
) -> Result<*mut pg_sys::List, Raise> {
    let mut list: *mut pg_sys::List = std::ptr::null_mut();
    for (name, value) in values {
        let (n, v) = (cstring(name)?, cstring(value)?);
        unsafe {
            let def = pg_sys::makeDefElem(
                pg_sys::pstrdup(n.as_ptr()),
                pg_sys::makeString(pg_sys::pstrdup(v.as_ptr())).cast(),
                -1,
            );
            (*def).defaction = if have.contains_key(*name) {
                pg_sys::DefElemAction::DEFELEM_SET
            } else {
                pg_sys::DefElemAction::DEFELEM_ADD
            };
            list = pg_sys::lappend(list, def.cast());
        }
    }
    Ok(list)
}

/// The statement text shown for options `values` of `what`: their names only.
pub(crate) fn shown(what: &str, values: &[(&str, &str)]) -> String {
    let names: Vec<&str> = values.iter().map(|(n, _)| *n).collect();
    format!(
        "{what} OPTIONS ({}) /* values set by stripe_fdw, not shown */",
        names.join(", ")
    )
}

/// A role spec for CURRENT_USER, or PUBLIC.
pub(crate) fn role(public: bool) -> *mut pg_sys::RoleSpec {
    let mut r = unsafe { PgBox::<pg_sys::RoleSpec>::alloc_node(pg_sys::NodeTag::T_RoleSpec) };
    r.roletype = if public {
        pg_sys::RoleSpecType::ROLESPEC_PUBLIC
    } else {
        pg_sys::RoleSpecType::ROLESPEC_CURRENT_USER
    };
    r.rolename = std::ptr::null_mut();
    r.location = -1;
    r.into_pg()
}

/// Run `node` (a utility statement this module's callers built) as a complete query whose text is
/// `text`: permission checks, the wrapper's validator, event triggers and audit hooks all apply.
/// `node` and everything it points to live in the current memory context; ProcessUtility may
/// modify them (readOnlyTree is false) and they are freed with the context.
pub(crate) fn run(node: *mut pg_sys::Node, text: &str) -> Result<(), Raise> {
    let text = cstring(text)?;
    let mut pstmt =
        unsafe { PgBox::<pg_sys::PlannedStmt>::alloc_node(pg_sys::NodeTag::T_PlannedStmt) };
    pstmt.commandType = pg_sys::CmdType::CMD_UTILITY;
    pstmt.canSetTag = false;
    pstmt.utilityStmt = node;
    pstmt.stmt_location = -1;
    pstmt.stmt_len = 0;
    unsafe {
        pg_sys::ProcessUtility(
            pstmt.into_pg(),
            pg_sys::pstrdup(text.as_ptr()),
            false,
            pg_sys::ProcessUtilityContext::PROCESS_UTILITY_QUERY,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            pg_sys::None_Receiver,
            std::ptr::null_mut(),
        );
        pg_sys::CommandCounterIncrement();
    }
    Ok(())
}
