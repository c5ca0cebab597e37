//! Typed cell values to Postgres cells, and the declared-type check that makes a mismatch an ERROR.

use crate::error::FdwError;
use pgrx::datum::TimestampWithTimeZone;
use pgrx::pg_sys::{self, Oid};
use pgrx::AnyNumeric;
use stripe_fdw_core::spec::ColType;
use stripe_fdw_core::value::CellValue;
use supabase_wrappers::prelude::Cell;

/// Seconds between 1970-01-01 and Postgres' epoch, 2000-01-01.
const PG_EPOCH_OFFSET: i64 = 946_684_800;

/// The declared column types that can hold each spec type.
pub fn accepts(ty: ColType, oid: Oid) -> bool {
    match ty {
        ColType::Text => oid == pg_sys::TEXTOID || oid == pg_sys::VARCHAROID,
        ColType::Bool => oid == pg_sys::BOOLOID,
        ColType::Int8 => oid == pg_sys::INT8OID || oid == pg_sys::NUMERICOID,
        ColType::Numeric => oid == pg_sys::NUMERICOID,
        ColType::Timestamptz => oid == pg_sys::TIMESTAMPTZOID,
        ColType::Jsonb => oid == pg_sys::JSONBOID,
        ColType::TextArray => oid == pg_sys::TEXTARRAYOID || oid == pg_sys::JSONBOID,
    }
}

/// Convert one value for a column declared with `oid` (already checked with [`accepts`]).
pub fn to_cell(value: CellValue, oid: Oid, column: &str) -> Result<Option<Cell>, FdwError> {
    let bad = |what: String| FdwError::Internal(format!("column \"{column}\": {what}"));
    Ok(Some(match value {
        CellValue::Null => return Ok(None),
        CellValue::Text(s) => Cell::String(s),
        CellValue::Bool(b) => Cell::Bool(b),
        CellValue::Int8(n) if oid == pg_sys::NUMERICOID => Cell::Numeric(AnyNumeric::from(n)),
        CellValue::Int8(n) => Cell::I64(n),
        CellValue::Numeric(s) => Cell::Numeric(
            AnyNumeric::try_from(s.as_str()).map_err(|e| bad(format!("numeric \"{s}\": {e}")))?,
        ),
        CellValue::Timestamptz(secs) => {
            let micros = secs
                .checked_sub(PG_EPOCH_OFFSET)
                .and_then(|s| s.checked_mul(1_000_000))
                .ok_or_else(|| bad(format!("timestamp {secs} out of range")))?;
            Cell::Timestamptz(
                TimestampWithTimeZone::try_from(micros)
                    .map_err(|e| bad(format!("timestamp {secs}: {e:?}")))?,
            )
        }
        CellValue::Json(v) => crate::jsonb::cell(&v)?,
        CellValue::TextArray(items) if oid == pg_sys::JSONBOID => {
            crate::jsonb::cell(&serde_json::Value::Array(
                items
                    .into_iter()
                    .map(|i| i.map_or(serde_json::Value::Null, serde_json::Value::String))
                    .collect(),
            ))?
        }
        CellValue::TextArray(items) => Cell::StringArray(items),
    }))
}

/// A Postgres timestamptz as microseconds since the Unix epoch.
pub fn timestamptz_unix_micros(ts: TimestampWithTimeZone) -> Option<i64> {
    let pg_micros: i64 = ts.into();
    pg_micros.checked_add(PG_EPOCH_OFFSET * 1_000_000)
}
