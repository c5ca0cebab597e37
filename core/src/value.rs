//! JSON to typed cell values: one Stripe object becomes one row, column by column, as the spec says.

use crate::spec::{ColType, ColumnSpec};
use serde_json::Value;

/// A cell as Stripe gave it, already in the column's type; the extension turns it into a datum.
#[derive(Debug, Clone, PartialEq)]
pub enum CellValue {
    Null,
    Text(String),
    Bool(bool),
    Int8(i64),
    /// A decimal string (`unit_amount_decimal`), parsed by Postgres' numeric input.
    Numeric(String),
    /// Seconds since the Unix epoch.
    Timestamptz(i64),
    Json(Value),
    TextArray(Vec<Option<String>>),
}

/// A JSON value that the column's type cannot hold: Stripe sent something the spec does not expect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column \"{column}\" expects {expected}, but Stripe sent {got}")]
pub struct ShapeError {
    pub column: String,
    pub expected: &'static str,
    pub got: String,
}

fn describe(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 60 {
        format!(
            "{}...",
            &s[..s.char_indices().nth(57).map(|(i, _)| i).unwrap_or(s.len())]
        )
    } else {
        s
    }
}

/// One step of a path: a key of an object, or a position in an array (`"0"`: the first item).
fn step<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Array(items) => items.get(key.parse::<usize>().ok()?),
        other => other.get(key),
    }
}

fn lookup<'a>(obj: &'a Value, path: &[&str]) -> &'a Value {
    let mut cur = obj;
    for key in path {
        cur = match step(cur, key) {
            Some(v) => v,
            None => return &Value::Null,
        };
    }
    cur
}

/// What a text column expects when Stripe sent a NUL character (Postgres text cannot hold one).
const NO_NUL: &str = "text without NUL characters (Postgres text cannot hold them)";

fn lookup_mut<'a>(obj: &'a mut Value, path: &[&str]) -> Option<&'a mut Value> {
    let mut cur = obj;
    for key in path {
        cur = match cur {
            Value::Array(items) => items.get_mut(key.parse::<usize>().ok()?)?,
            other => other.get_mut(key)?,
        };
    }
    Some(cur)
}

/// Convert one column of one object. `attrs` (empty path) is the whole object; a missing or null
/// value is read from the column's fallback path, if it has one.
pub fn extract(obj: &Value, col: &ColumnSpec) -> Result<CellValue, ShapeError> {
    let mut v = lookup(obj, col.path);
    if v.is_null() && !col.fallback.is_empty() {
        v = lookup(obj, col.fallback);
    }
    if v.is_null() {
        return Ok(CellValue::Null);
    }
    convert(v.clone(), col)
}

/// Like [`extract`], but moves the value out of `obj` (leaving JSON null) instead of copying it.
/// For columns whose paths no other column of the row reads.
pub fn take(obj: &mut Value, col: &ColumnSpec) -> Result<CellValue, ShapeError> {
    let primary = lookup_mut(obj, col.path).filter(|v| !v.is_null()).is_some();
    let path = if primary || col.fallback.is_empty() {
        col.path
    } else {
        col.fallback
    };
    match lookup_mut(obj, path) {
        Some(v) if !v.is_null() => convert(v.take(), col),
        _ => Ok(CellValue::Null),
    }
}

fn convert(v: Value, col: &ColumnSpec) -> Result<CellValue, ShapeError> {
    let bad = |v: &Value| ShapeError {
        column: col.name.to_string(),
        expected: col.ty.sql_name(),
        got: describe(v),
    };
    Ok(match col.ty {
        ColType::Jsonb => CellValue::Json(v),
        ColType::Text => match v {
            // Postgres text cannot hold NUL; silently cutting the string would lose data.
            Value::String(s) if s.contains('\0') => {
                return Err(ShapeError {
                    expected: NO_NUL,
                    ..bad(&Value::String(s))
                })
            }
            Value::String(s) => CellValue::Text(s),
            // An expanded reference (`default_price`, `tax_code`, `product`) is shown by its id.
            Value::Object(mut m) => match m.remove("id") {
                Some(Value::String(id)) => CellValue::Text(id),
                _ => return Err(bad(&Value::Object(m))),
            },
            other => return Err(bad(&other)),
        },
        ColType::Bool => CellValue::Bool(v.as_bool().ok_or_else(|| bad(&v))?),
        ColType::Int8 => CellValue::Int8(v.as_i64().ok_or_else(|| bad(&v))?),
        ColType::Timestamptz => CellValue::Timestamptz(v.as_i64().ok_or_else(|| bad(&v))?),
        ColType::Numeric => match v {
            Value::String(s) if is_decimal(&s) => CellValue::Numeric(s),
            Value::Number(n) => CellValue::Numeric(n.to_string()),
            other => return Err(bad(&other)),
        },
        ColType::TextArray => match v {
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(match i {
                        Value::Null => None,
                        Value::String(s) if s.contains('\0') => {
                            return Err(ShapeError {
                                expected: NO_NUL,
                                ..bad(&Value::String(s))
                            })
                        }
                        Value::String(s) => Some(s),
                        other => return Err(bad(&other)),
                    });
                }
                CellValue::TextArray(out)
            }
            other => return Err(bad(&other)),
        },
    })
}

fn is_decimal(s: &str) -> bool {
    let body = s.strip_prefix('-').unwrap_or(s);
    let mut parts = body.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects;
    use serde_json::json;

    fn price() -> Value {
        json!({
            "id": "price_1", "object": "price", "active": true, "currency": "usd",
            "unit_amount": 2000, "unit_amount_decimal": "2000.5", "product": {"id": "prod_1", "object": "product"},
            "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed",
                          "trial_period_days": null, "meter": null},
            "lookup_key": null, "created": 1700000000, "metadata": {"k": "v"}
        })
    }

    fn get(name: &str, obj: &Value) -> Result<CellValue, ShapeError> {
        let spec = objects::find("prices")
            .and_then(|o| o.column(name))
            .expect("column");
        extract(obj, spec)
    }

    #[test]
    fn each_type_is_converted() {
        let p = price();
        assert_eq!(get("id", &p), Ok(CellValue::Text("price_1".into())));
        assert_eq!(get("active", &p), Ok(CellValue::Bool(true)));
        assert_eq!(get("unit_amount", &p), Ok(CellValue::Int8(2000)));
        assert_eq!(
            get("unit_amount_decimal", &p),
            Ok(CellValue::Numeric("2000.5".into()))
        );
        assert_eq!(
            get("created", &p),
            Ok(CellValue::Timestamptz(1_700_000_000))
        );
        assert_eq!(
            get("recurring_interval", &p),
            Ok(CellValue::Text("month".into()))
        );
        assert_eq!(get("recurring_interval_count", &p), Ok(CellValue::Int8(1)));
        assert_eq!(get("metadata", &p), Ok(CellValue::Json(json!({"k": "v"}))));
        assert_eq!(get("attrs", &p), Ok(CellValue::Json(p.clone())));
    }

    #[test]
    fn stripe_null_and_missing_fields_are_sql_null() {
        let p = price();
        assert_eq!(get("lookup_key", &p), Ok(CellValue::Null));
        assert_eq!(get("trial_period_days", &p), Ok(CellValue::Null));
        assert_eq!(get("nickname", &p), Ok(CellValue::Null));
        let one_time = json!({"id": "price_2", "recurring": null});
        assert_eq!(get("recurring_interval", &one_time), Ok(CellValue::Null));
    }

    #[test]
    fn expanded_reference_shows_its_id() {
        assert_eq!(
            get("product", &price()),
            Ok(CellValue::Text("prod_1".into()))
        );
    }

    #[test]
    fn wrong_shape_is_an_error_naming_the_column() {
        let bad = json!({"unit_amount": "lots", "unit_amount_decimal": "1e5", "active": "yes"});
        let e = get("unit_amount", &bad).expect_err("string in a bigint");
        assert_eq!(e.column, "unit_amount");
        assert_eq!(e.expected, "bigint");
        assert!(get("unit_amount_decimal", &bad).is_err());
        assert!(get("active", &bad).is_err());
        let nul = json!({"nickname": "a\u{0}b"});
        assert!(get("nickname", &nul).is_err(), "text cannot hold NUL");
    }

    #[test]
    fn text_arrays_keep_nulls_and_reject_non_strings() {
        let spec = objects::find("products")
            .and_then(|o| o.column("images"))
            .expect("images");
        let ok = json!({"images": ["a", null]});
        assert_eq!(
            extract(&ok, spec),
            Ok(CellValue::TextArray(vec![Some("a".into()), None]))
        );
        assert!(extract(&json!({"images": [1]}), spec).is_err());
    }

    #[test]
    fn take_moves_the_value_and_agrees_with_extract() {
        let spec = objects::find("prices").expect("prices");
        for col in spec.columns.iter().filter(|c| !c.path.is_empty()) {
            let mut p = price();
            assert_eq!(take(&mut p, col), extract(&price(), col), "{}", col.name);
        }
        let mut p = price();
        let nickname = spec.column("currency").expect("currency");
        take(&mut p, nickname).expect("taken");
        assert_eq!(p["currency"], Value::Null, "moved out");
    }

    fn subscription_column(name: &str) -> &'static ColumnSpec {
        objects::find("subscriptions")
            .and_then(|o| o.column(name))
            .expect("column")
    }

    #[test]
    fn a_period_missing_on_the_subscription_comes_from_its_first_item() {
        let start = subscription_column("current_period_start");
        let price = subscription_column("price");
        let current = json!({"id": "sub_1", "items": {"data": [
            {"current_period_start": 1_700_000_100, "price": {"id": "price_1"}},
            {"current_period_start": 1_700_000_200, "price": {"id": "price_2"}}
        ]}});
        assert_eq!(
            extract(&current, start),
            Ok(CellValue::Timestamptz(1_700_000_100))
        );
        assert_eq!(
            extract(&current, price),
            Ok(CellValue::Text("price_1".into()))
        );
        let mut moved = current.clone();
        assert_eq!(take(&mut moved, start), extract(&current, start));
        // An older API version's subscription has its own period: that one wins.
        let old = json!({"current_period_start": 1_600_000_000,
                         "items": {"data": [{"current_period_start": 1_700_000_100}]}});
        assert_eq!(
            extract(&old, start),
            Ok(CellValue::Timestamptz(1_600_000_000))
        );
        let mut moved = old.clone();
        assert_eq!(
            take(&mut moved, start),
            Ok(CellValue::Timestamptz(1_600_000_000))
        );
        let none = json!({"current_period_start": null, "items": {"data": []}});
        assert_eq!(extract(&none, start), Ok(CellValue::Null));
        assert_eq!(extract(&none, price), Ok(CellValue::Null));
    }

    #[test]
    fn decimal_strings_are_checked() {
        for ok in ["0", "2000", "-1", "12.3456789012"] {
            assert!(is_decimal(ok), "{ok}");
        }
        for bad in ["", ".", "1.", "abc", "1e5", "1.2.3", "--1"] {
            assert!(!is_decimal(bad), "{bad}");
        }
    }
}
