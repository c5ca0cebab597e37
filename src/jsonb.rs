//! serde_json values straight to Postgres `jsonb`, without printing them and re-parsing the text.
//!
//! pgrx's `JsonB` datum conversion serializes the value to a string and runs `jsonb_in` on it, which
//! was ~40% of a full scan's backend CPU (every object is in `attrs`). Here the jsonb is built with
//! `pushJsonbValue` / `JsonbValueToJsonb` directly, in the current (per-row) memory context.

use crate::error::FdwError;
use pgrx::pg_sys::{self, JsonbIteratorToken as Tok, JsonbValue};
use pgrx::{AnyNumeric, IntoDatum, JsonB};
use serde_json::Value;

/// Why the direct build stopped.
enum Stop {
    /// A string with a NUL character: Postgres' jsonb rejects \u0000, so take its own path and
    /// its own error.
    Nul,
    Fail(FdwError),
}

impl From<FdwError> for Stop {
    fn from(e: FdwError) -> Self {
        Stop::Fail(e)
    }
}

/// A jsonb datum for `v`.
pub fn datum(v: &Value) -> Result<pg_sys::Datum, FdwError> {
    match unsafe { build(v) } {
        Ok(jsonb) => Ok(pg_sys::Datum::from(jsonb)),
        Err(Stop::Nul) => JsonB(v.clone())
            .into_datum()
            .ok_or_else(|| FdwError::Internal("jsonb datum".into())),
        Err(Stop::Fail(e)) => Err(e),
    }
}

unsafe fn build(v: &Value) -> Result<*mut pg_sys::Jsonb, Stop> {
    unsafe {
        let mut state: *mut pg_sys::JsonbParseState = std::ptr::null_mut();
        let top = match v {
            Value::Object(_) | Value::Array(_) => push(&mut state, v, Tok::WJB_ELEM)?,
            scalar => {
                // A top-level scalar is stored as a one-element "raw scalar" array.
                let mut arr: JsonbValue = std::mem::zeroed();
                arr.type_ = pg_sys::jbvType::jbvArray;
                arr.val.array.rawScalar = true;
                pg_sys::pushJsonbValue(&mut state, Tok::WJB_BEGIN_ARRAY, &mut arr);
                push(&mut state, scalar, Tok::WJB_ELEM)?;
                pg_sys::pushJsonbValue(&mut state, Tok::WJB_END_ARRAY, std::ptr::null_mut())
            }
        };
        if top.is_null() {
            return Err(
                FdwError::Internal("building a jsonb value returned nothing".into()).into(),
            );
        }
        Ok(pg_sys::JsonbValueToJsonb(top))
    }
}

/// Push `v`; `scalar_token` is WJB_VALUE inside an object, WJB_ELEM inside an array.
/// Returns what the last push returned (the finished value after the outermost end token).
unsafe fn push(
    state: &mut *mut pg_sys::JsonbParseState,
    v: &Value,
    scalar_token: Tok::Type,
) -> Result<*mut JsonbValue, Stop> {
    unsafe {
        Ok(match v {
            Value::Object(m) => {
                pg_sys::pushJsonbValue(state, Tok::WJB_BEGIN_OBJECT, std::ptr::null_mut());
                // jsonb orders keys by length, then bytes; pushed in that order, Postgres' sort
                // of the object's keys finds them already sorted.
                let mut entries: Vec<(&String, &Value)> = m.iter().collect();
                entries.sort_unstable_by(|a, b| {
                    a.0.len()
                        .cmp(&b.0.len())
                        .then_with(|| a.0.as_bytes().cmp(b.0.as_bytes()))
                });
                for (k, val) in entries {
                    let mut key = string(k)?;
                    pg_sys::pushJsonbValue(state, Tok::WJB_KEY, &mut key);
                    push(state, val, Tok::WJB_VALUE)?;
                }
                pg_sys::pushJsonbValue(state, Tok::WJB_END_OBJECT, std::ptr::null_mut())
            }
            Value::Array(a) => {
                pg_sys::pushJsonbValue(state, Tok::WJB_BEGIN_ARRAY, std::ptr::null_mut());
                for e in a {
                    push(state, e, Tok::WJB_ELEM)?;
                }
                pg_sys::pushJsonbValue(state, Tok::WJB_END_ARRAY, std::ptr::null_mut())
            }
            scalar => {
                let mut jbv = scalar_value(scalar)?;
                pg_sys::pushJsonbValue(state, scalar_token, &mut jbv)
            }
        })
    }
}

/// A jbvString pointing at `s` (copied when the jsonb is built, so `s` need only outlive that).
unsafe fn string(s: &str) -> Result<JsonbValue, Stop> {
    if s.as_bytes().contains(&0) {
        return Err(Stop::Nul);
    }
    let len = i32::try_from(s.len())
        .map_err(|_| FdwError::Internal("JSON string too long for jsonb".into()))?;
    unsafe {
        let mut jbv: JsonbValue = std::mem::zeroed();
        jbv.type_ = pg_sys::jbvType::jbvString;
        jbv.val.string.len = len;
        jbv.val.string.val = s.as_ptr() as *mut std::ffi::c_char;
        Ok(jbv)
    }
}

unsafe fn scalar_value(v: &Value) -> Result<JsonbValue, Stop> {
    unsafe {
        let mut jbv: JsonbValue = std::mem::zeroed();
        match v {
            Value::Null => jbv.type_ = pg_sys::jbvType::jbvNull,
            Value::Bool(b) => {
                jbv.type_ = pg_sys::jbvType::jbvBool;
                jbv.val.boolean = *b;
            }
            Value::String(s) => return string(s),
            Value::Number(n) => {
                jbv.type_ = pg_sys::jbvType::jbvNumeric;
                jbv.val.numeric = match n.as_i64() {
                    Some(i) => pg_sys::int64_to_numeric(i),
                    None => {
                        let text = n.to_string();
                        let num = AnyNumeric::try_from(text.as_str())
                            .map_err(|e| FdwError::Internal(format!("JSON number {text}: {e}")))?;
                        num.into_datum()
                            .map(|d| d.cast_mut_ptr())
                            .ok_or_else(|| FdwError::Internal(format!("JSON number {text}")))?
                    }
                };
            }
            Value::Array(_) | Value::Object(_) => {
                return Err(Stop::Fail(FdwError::Internal(
                    "container passed as a JSON scalar".into(),
                )))
            }
        }
        Ok(jbv)
    }
}
