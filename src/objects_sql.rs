//! The object registry (core/src/objects) as SQL needs it: which Stripe objects a cache can read
//! whole, with one scan and no condition.

#[pgrx::pg_schema]
mod stripe_fdw {
    use pgrx::prelude::*;
    use stripe_fdw_core::objects::{find, names};
    use stripe_fdw_core::spec::Access;

    /// True when a scan of the foreign table of Stripe object `object` (its `object` option) with
    /// no condition reads every one of them: a plain list, or the one balance. False for an unknown
    /// object, a list that needs a condition (setup_attempts, subscription_items) and the objects
    /// Stripe only retrieves by id (tokens, mandates).
    #[pg_extern(name = "_listable", immutable, parallel_safe)]
    #[search_path(pg_catalog, pg_temp)]
    fn listable(object: &str) -> bool {
        matches!(
            find(object).map(|o| o.access),
            Some(Access::List { required: None } | Access::Single { .. })
        )
    }

    /// Every Stripe object stripe_fdw knows, by its `object` option (`checkout/sessions`), for
    /// the error that names them.
    #[pg_extern(name = "_object_names", immutable, parallel_safe)]
    #[search_path(pg_catalog, pg_temp)]
    fn object_names() -> Vec<String> {
        names().into_iter().map(str::to_string).collect()
    }
}
