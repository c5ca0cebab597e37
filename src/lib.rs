//! stripe_fdw: Stripe products and prices as PostgreSQL foreign tables, read live, with a cache.
//!
//! The data path: options -> plan (core) -> client (core) -> rows. This crate is the Postgres side:
//! the `ForeignDataWrapper` glue, datum conversion, secrets, EXPLAIN, and the SQL of the cache.

mod cells;
mod error;
mod fdw;
mod hooks;
mod jsonb;
mod pgopts;
mod quals;
mod restrict;
mod scan;
mod secrets;
mod transport;

pgrx::pg_module_magic!();

pgrx::extension_sql_file!("../sql/cache.sql", name = "cache");
pgrx::extension_sql_file!(
    "../sql/cache_catalog.sql",
    name = "cache_catalog",
    requires = ["cache"]
);
pgrx::extension_sql_file!(
    "../sql/cache_refresh.sql",
    name = "cache_refresh",
    requires = ["cache"]
);
pgrx::extension_sql_file!("../sql/cache_checks.sql", name = "cache_checks", finalize);
