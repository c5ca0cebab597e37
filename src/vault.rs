//! One secret from Supabase Vault (`vault.decrypted_secrets`), by name or by id, read as a given
//! role and isolated from the caller (src/isolate.rs). The secret is returned, never shown.

use crate::error::FdwError;
use crate::isolate::Isolated;
use pgrx::pg_sys;
use pgrx::prelude::*;

/// True when there is a schema "vault" (a catalog lookup: no SQL, so nothing to shadow) whose
/// `decrypted_secrets` and the schema itself a superuser owns, as Supabase Vault's are
/// (`stripe_fdw._vault()`, sql/sources.sql): a "vault" another role made could run its own code
/// with the rights of the role the secret is read as.
pub(crate) fn vault_exists() -> bool {
    let named = unsafe { pg_sys::get_namespace_oid(c"vault".as_ptr(), true) != pg_sys::InvalidOid };
    named
        && Spi::get_one::<bool>("select stripe_fdw._vault()")
            .ok()
            .flatten()
            .unwrap_or(false)
}

/// The lookup by name: one row always (a scalar subquery), NULL when there is no such secret.
/// Every name and operator is qualified; it runs under [`Isolated`], search_path pinned.
const BY_NAME: &str = "select (select s.decrypted_secret::pg_catalog.text
                          from vault.decrypted_secrets s
                         where s.name OPERATOR(pg_catalog.=) $1
                         limit 1)";

/// The lookup by api_key_id: the secret's id or key_id, or its name, as Supabase Wrappers does.
const BY_ID: &str = "select (select s.decrypted_secret::pg_catalog.text
                        from vault.decrypted_secrets s
                       where s.id::pg_catalog.text OPERATOR(pg_catalog.=) pg_catalog.lower($1)
                          or s.key_id::pg_catalog.text OPERATOR(pg_catalog.=) pg_catalog.lower($1)
                          or s.name OPERATOR(pg_catalog.=) $1
                       limit 1)";

/// The secret `id_or_name` (named by option `kind`) from Supabase Vault, read with `user`'s
/// privileges. Who may be `user` is decided by the caller (src/secrets.rs).
pub(crate) fn read(
    kind: &str,
    id_or_name: &str,
    by_name: bool,
    user: pg_sys::Oid,
) -> Result<String, FdwError> {
    let _isolated = Isolated::enter(user);
    if !vault_exists() {
        return Err(FdwError::Vault {
            message: format!(
                "option {kind} needs Supabase Vault, but there is no \"vault\" schema owned by a superuser with its view decrypted_secrets"
            ),
            hint:
                "Install Supabase Vault, or give the key with the api_key option of a user mapping."
                    .into(),
        });
    }
    let query = if by_name { BY_NAME } else { BY_ID };
    let found = Spi::get_one_with_args::<String>(query, &[id_or_name.into()]).map_err(|e| {
        FdwError::Vault {
            message: format!("could not read Supabase Vault for {kind} \"{id_or_name}\": {e}"),
            hint: "Check that this role may read vault.decrypted_secrets.".into(),
        }
    })?;
    found
        .filter(|k| !k.is_empty())
        .ok_or_else(|| FdwError::Vault {
            message: format!("no secret in Supabase Vault for {kind} \"{id_or_name}\""),
            hint: "Check vault.decrypted_secrets, and that this role may read it.".into(),
        })
}
