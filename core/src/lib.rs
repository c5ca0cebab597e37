//! The Postgres-free half of stripe_fdw: object specs, pushdown planning, options and the Stripe client.
//!
//! Everything here is plain Rust, testable with `cargo test` and no database. The extension crate
//! turns Postgres quals into [`plan::Cond`]s, calls [`plan::plan`], drives a [`client::Client`]
//! and turns [`value::CellValue`]s into Postgres datums.

pub mod client;
pub mod error;
pub mod objects;
pub mod objects_sql_gen;
pub mod options;
pub mod pgtime;
pub mod plan;
pub mod spec;
pub mod value;
pub mod webhook;

pub use error::StripeError;
