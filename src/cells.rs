//! Typed values from Stripe to Postgres datums, for every declared column type that holds the
//! value without loss; the declared-type check that makes any other type an error at planning.

use crate::error::FdwError;
use pgrx::datum::{Timestamp, TimestampWithTimeZone};
use pgrx::pg_sys::{self, Datum, Oid};
use pgrx::{AnyNumeric, IntoDatum, Json};
use stripe_fdw_core::spec::ColType;
use stripe_fdw_core::value::CellValue;

fn is_text(oid: Oid) -> bool {
    oid == pg_sys::TEXTOID || oid == pg_sys::VARCHAROID
}

fn is_json(oid: Oid) -> bool {
    oid == pg_sys::JSONBOID || oid == pg_sys::JSONOID
}

/// The declared column types that can hold each spec type without loss. Times may be declared
/// `timestamp` (UTC wall time, as Supabase Wrappers declares them) as well as `timestamptz`.
pub fn accepts(ty: ColType, oid: Oid) -> bool {
    match ty {
        ColType::Text => is_text(oid),
        ColType::Bool => oid == pg_sys::BOOLOID,
        ColType::Int8 => oid == pg_sys::INT8OID || oid == pg_sys::NUMERICOID,
        ColType::Numeric => oid == pg_sys::NUMERICOID,
        ColType::Timestamptz => oid == pg_sys::TIMESTAMPTZOID || oid == pg_sys::TIMESTAMPOID,
        ColType::Jsonb => is_json(oid),
        ColType::TextArray => oid == pg_sys::TEXTARRAYOID || is_json(oid),
    }
}

/// A JSON value as a `jsonb` or `json` datum.
pub fn json_datum(v: &serde_json::Value, oid: Oid) -> Result<Datum, FdwError> {
    if oid == pg_sys::JSONOID {
        return Json(v.clone())
            .into_datum()
            .ok_or_else(|| FdwError::Internal("json datum".into()));
    }
    crate::jsonb::datum(v)
}

/// Convert one value for a column declared with `oid` (already checked with [`accepts`]), in the
/// current memory context. `Ok(None)` is SQL NULL.
pub fn to_datum(value: CellValue, oid: Oid, column: &str) -> Result<Option<Datum>, FdwError> {
    let bad = |message: String| FdwError::BadData {
        column: column.to_string(),
        message,
    };
    Ok(match value {
        CellValue::Null => None,
        CellValue::Text(s) => {
            if s.as_bytes().contains(&0) {
                return Err(bad(
                    "Stripe sent a string with a NUL character, which text cannot hold".into(),
                ));
            }
            s.into_datum()
        }
        CellValue::Bool(b) => b.into_datum(),
        CellValue::Int8(n) if oid == pg_sys::NUMERICOID => AnyNumeric::from(n).into_datum(),
        CellValue::Int8(n) => n.into_datum(),
        CellValue::Numeric(s) => AnyNumeric::try_from(s.as_str())
            .map_err(|e| bad(format!("\"{s}\" is not a number: {e}")))?
            .into_datum(),
        CellValue::Timestamptz(secs) => {
            let micros = stripe_fdw_core::pgtime::from_unix_secs(secs)
                .ok_or_else(|| bad(format!("timestamp {secs} is out of range")))?;
            if oid == pg_sys::TIMESTAMPOID {
                Timestamp::try_from(micros)
                    .map_err(|e| bad(format!("timestamp {secs}: {e:?}")))?
                    .into_datum()
            } else {
                TimestampWithTimeZone::try_from(micros)
                    .map_err(|e| bad(format!("timestamp {secs}: {e:?}")))?
                    .into_datum()
            }
        }
        CellValue::Json(v) => Some(json_datum(&v, oid)?),
        CellValue::TextArray(items) if is_json(oid) => {
            let v = serde_json::Value::Array(
                items
                    .into_iter()
                    .map(|i| i.map_or(serde_json::Value::Null, serde_json::Value::String))
                    .collect(),
            );
            Some(json_datum(&v, oid)?)
        }
        CellValue::TextArray(items) => {
            if items.iter().flatten().any(|s| s.as_bytes().contains(&0)) {
                return Err(bad(
                    "Stripe sent a string with a NUL character, which text cannot hold".into(),
                ));
            }
            items.into_datum()
        }
    })
}
