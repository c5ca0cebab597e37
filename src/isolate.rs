//! Runs the extension's own SQL out of the caller's reach: as a chosen role, as a security-restricted
//! operation, with search_path pinned to `pg_catalog, pg_temp`.
//!
//! Without this, a statement parsed while a scan acts as the key's owner takes its names from the
//! caller's search_path, where the caller's temporary views and operators come first, and would run
//! the caller's code with the owner's rights. PostgreSQL builds indexes the same way (index_build in
//! catalog/index.c; RestrictSearchPath in PostgreSQL 17): switch the user adding
//! SECURITY_RESTRICTED_OPERATION, open a GUC nest level, set search_path with GUC_ACTION_SAVE, and
//! roll the nest level back and restore the user at the end. The statements qualify every name as
//! well (`pg_catalog.lower`, `OPERATOR(pg_catalog.=)`), so the pinned path is a second wall.

use pgrx::pg_sys;

/// The search_path the extension's own statements run under; pg_temp last, since a path that leaves
/// it out searches the temporary schema first.
const SAFE_SEARCH_PATH: &std::ffi::CStr = c"pg_catalog, pg_temp";

/// While alive: the current user is the chosen role in a security-restricted operation, and
/// search_path is pinned. Dropping it, also while an error unwinds through it, rolls back every
/// setting changed since (ours and any made by code it ran) and restores the user and security
/// context.
pub(crate) struct Isolated {
    saved_user: pg_sys::Oid,
    saved_context: i32,
    nest_level: i32,
}

impl Isolated {
    /// Act as `user` until the guard is dropped.
    pub(crate) fn enter(user: pg_sys::Oid) -> Isolated {
        let mut saved_user = pg_sys::InvalidOid;
        let mut saved_context = 0;
        unsafe {
            pg_sys::GetUserIdAndSecContext(&mut saved_user, &mut saved_context);
            pg_sys::SetUserIdAndSecContext(
                user,
                saved_context
                    | pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32
                    | pg_sys::SECURITY_RESTRICTED_OPERATION as i32,
            );
        }
        // From here on the guard exists, so an error in set_config_option still restores all.
        let guard = Isolated {
            saved_user,
            saved_context,
            nest_level: unsafe { pg_sys::NewGUCNestLevel() },
        };
        unsafe {
            // Raises an ERROR (elevel 0 means ERROR for a session source) rather than returning a
            // failure, so the result needs no check.
            pg_sys::set_config_option(
                c"search_path".as_ptr(),
                SAFE_SEARCH_PATH.as_ptr(),
                pg_sys::GucContext::PGC_USERSET,
                pg_sys::GucSource::PGC_S_SESSION,
                pg_sys::GucAction::GUC_ACTION_SAVE,
                true,
                0,
                false,
            );
        }
        guard
    }
}

impl Drop for Isolated {
    fn drop(&mut self) {
        unsafe {
            // false: also discard any SET the code run inside made, as index_build does.
            pg_sys::AtEOXact_GUC(false, self.nest_level);
            pg_sys::SetUserIdAndSecContext(self.saved_user, self.saved_context);
        }
    }
}
