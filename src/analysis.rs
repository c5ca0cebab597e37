//! What planning knows about one foreign table scan: made by src/planner.rs, read by the planning
//! callbacks and by src/ordering.rs (which the planner calls, so it must not need the planner).

use crate::pgopts::DeclaredColumn;
use crate::pushdown::Pushable;
use stripe_fdw_core::options::TableOptions;
use stripe_fdw_core::spec::ObjectSpec;

pub struct Analysis {
    pub spec: &'static ObjectSpec,
    pub table: TableOptions,
    pub startup_cost: f64,
    pub columns: Vec<DeclaredColumn>,
    pub pushable: Vec<Pushable>,
    /// No condition is left for Postgres alone.
    pub all_pushed: bool,
    pub limit: Option<(i64, i64)>,
}
