//! stripe_fdw: Stripe products and prices as PostgreSQL foreign tables, read live, with a cache.
//!
//! The data path: options -> plan (core) -> client (core) -> rows. This crate is the Postgres side:
//! the FDW callbacks (planner, executor, import), datum conversion, secrets, EXPLAIN, and the SQL
//! of the cache.

mod analysis;
mod cells;
mod endpoint_secret;
mod endpoints;
mod error;
mod exec;
mod import;
mod isolate;
mod jsonb;
mod ordering;
mod pgopts;
mod plandata;
mod planner;
mod pushdown;
mod routine;
mod scan;
mod secrets;
mod transport;
mod utility;
mod values;
mod vault;
mod webhook;

pgrx::pg_module_magic!();

// The objects and their columns, generated from core/src/objects (core/src/objects_sql_gen.rs):
// the SQL the rest reads them through (create_cache checks objects with _object_names, _listable).
pgrx::extension_sql_file!("../sql/objects.sql", name = "objects");
pgrx::extension_sql_file!("../sql/cache.sql", name = "cache", requires = ["objects"]);
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
pgrx::extension_sql_file!(
    "../sql/cache_events.sql",
    name = "cache_events",
    requires = ["cache_refresh", "sync_write"]
);
pgrx::extension_sql_file!("../sql/cache_checks.sql", name = "cache_checks", finalize);
pgrx::extension_sql_file!("../sql/sync.sql", name = "sync", requires = ["cache"]);
// Webhook signatures verified in SQL with pgcrypto (for the SQL-only build; nothing from the .so).
pgrx::extension_sql_file!(
    "../sql/webhook_sig.sql",
    name = "webhook_sig",
    requires = ["sync"]
);
pgrx::extension_sql_file!(
    "../sql/sync_apply.sql",
    name = "sync_apply",
    requires = ["sync"]
);
pgrx::extension_sql_file!(
    "../sql/sync_stamps.sql",
    name = "sync_stamps",
    requires = ["sync_apply"]
);
pgrx::extension_sql_file!(
    "../sql/sync_write.sql",
    name = "sync_write",
    requires = ["sync_stamps"]
);
pgrx::extension_sql_file!(
    "../sql/sync_targets.sql",
    name = "sync_targets",
    requires = ["sync_write"]
);
pgrx::extension_sql_file!(
    "../sql/sync_run.sql",
    name = "sync_run",
    requires = ["sync_targets", "sources"]
);
pgrx::extension_sql_file!(
    "../sql/webhooks.sql",
    name = "webhooks",
    requires = ["sync_run"]
);
pgrx::extension_sql_file!(
    "../sql/sources.sql",
    name = "sources",
    requires = ["sync", "objects"]
);
pgrx::extension_sql_file!(
    "../sql/json_apply.sql",
    name = "json_apply",
    requires = ["sources", "webhooks"]
);
pgrx::extension_sql_file!(
    "../sql/json_webhooks.sql",
    name = "json_webhooks",
    requires = ["json_apply", "webhook_sig"]
);
pgrx::extension_sql_file!(
    "../sql/json_worker.sql",
    name = "json_worker",
    requires = ["json_webhooks", "sync_run"]
);
pgrx::extension_sql_file!(
    "../sql/catchup.sql",
    name = "catchup",
    requires = ["webhooks"]
);
pgrx::extension_sql_file!(
    "../sql/endpoints.sql",
    name = "endpoints",
    requires = ["webhooks"]
);
pgrx::extension_sql_file!(
    "../sql/health.sql",
    name = "health",
    requires = ["sync_run", "cache_refresh", "catchup", "json_worker"]
);
pgrx::extension_sql_file!(
    "../sql/admin.sql",
    name = "admin",
    requires = [
        "sync_run",
        "cache_refresh",
        "cache_catalog",
        "catchup",
        "health",
        "json_worker"
    ]
);
