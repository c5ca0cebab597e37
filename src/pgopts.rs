//! Reading option lists (`DefElem`s) of catalog objects and the columns of a foreign table.

use crate::error::FdwError;
use pgrx::pg_sys;
use pgrx::PgList;
use std::collections::HashMap;
use std::ffi::CStr;

/// A catalog option list (`List *` of `DefElem`) as a map.
///
/// # Safety
/// `options` must be a valid `List` of `DefElem` or null.
pub unsafe fn options_map(options: *mut pg_sys::List) -> HashMap<String, String> {
    let mut map = HashMap::new();
    let list = unsafe { PgList::<pg_sys::DefElem>::from_pg(options) };
    for def in list.iter_ptr() {
        unsafe {
            if def.is_null() || (*def).defname.is_null() {
                continue;
            }
            let name = CStr::from_ptr((*def).defname)
                .to_string_lossy()
                .into_owned();
            let value = pg_sys::defGetString(def);
            let value = if value.is_null() {
                String::new()
            } else {
                CStr::from_ptr(value).to_string_lossy().into_owned()
            };
            map.insert(name, value);
        }
    }
    map
}

/// A declared column of a foreign table.
pub struct DeclaredColumn {
    pub attnum: i16,
    pub name: String,
    pub type_oid: pg_sys::Oid,
}

/// The table's name and its live (not dropped) columns, from the relation cache.
pub fn table_columns(relid: pg_sys::Oid) -> Result<(String, Vec<DeclaredColumn>), FdwError> {
    let rel = unsafe { pgrx::PgRelation::open(relid) };
    let name = rel.name().to_string();
    let cols = rel
        .tuple_desc()
        .iter()
        .enumerate()
        .filter(|(_, a)| !a.is_dropped())
        .map(|(i, a)| DeclaredColumn {
            attnum: i16::try_from(i + 1).unwrap_or(i16::MAX),
            name: a.name().to_string(),
            type_oid: a.type_oid().value(),
        })
        .collect();
    Ok((name, cols))
}

/// The SQL name of a type, for error messages.
pub fn type_name(oid: pg_sys::Oid) -> String {
    unsafe {
        let p = pg_sys::format_type_be(oid);
        if p.is_null() {
            format!("type {}", oid.to_u32())
        } else {
            CStr::from_ptr(p).to_string_lossy().into_owned()
        }
    }
}
