//! Parsing a list page keeping only the top-level fields a query reads: the others are skipped by
//! the parser (no allocation, no map insert), which is most of a page's parse when `attrs` is not
//! read. `None` keeps whole objects.

use super::ListPage;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

/// Fields every list object keeps whatever the query reads: the cursor (`id`), the type check
/// (`object`), deleted objects (`deleted`) and the slicing of concurrent scans (`created`).
pub const ALWAYS: [&str; 4] = ["id", "object", "deleted", "created"];

/// Parse `body` as a list page, keeping only `keep`'s top-level fields of each object (all of them
/// when `keep` is `None`).
pub fn parse_page(body: &[u8], keep: Option<&[String]>) -> serde_json::Result<ListPage> {
    match keep {
        None => serde_json::from_slice(body),
        Some(keep) => {
            let mut de = serde_json::Deserializer::from_slice(body);
            let page = PageSeed(keep).deserialize(&mut de)?;
            de.end()?;
            Ok(page)
        }
    }
}

struct PageSeed<'a>(&'a [String]);

impl<'de> DeserializeSeed<'de> for PageSeed<'_> {
    type Value = ListPage;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<ListPage, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PageSeed<'_> {
    type Value = ListPage;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<ListPage, A::Error> {
        use serde::de::Error;
        let (mut object, mut data, mut has_more) = (None, None, None);
        while let Some(k) = m.next_key::<std::borrow::Cow<'de, str>>()? {
            match k.as_ref() {
                "object" => object = Some(m.next_value::<String>()?),
                "data" => data = Some(m.next_value_seed(DataSeed(self.0))?),
                "has_more" => has_more = Some(m.next_value::<bool>()?),
                _ => {
                    m.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(ListPage {
            object: object.ok_or_else(|| A::Error::missing_field("object"))?,
            data: data.ok_or_else(|| A::Error::missing_field("data"))?,
            has_more: has_more.ok_or_else(|| A::Error::missing_field("has_more"))?,
        })
    }
}

struct DataSeed<'a>(&'a [String]);

impl<'de> DeserializeSeed<'de> for DataSeed<'_> {
    type Value = Vec<Value>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<Value>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for DataSeed<'_> {
    type Value = Vec<Value>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Vec<Value>, A::Error> {
        let mut out = Vec::with_capacity(s.size_hint().unwrap_or(0).min(100));
        while let Some(v) = s.next_element_seed(ObjectSeed(self.0))? {
            out.push(v);
        }
        Ok(out)
    }
}

struct ObjectSeed<'a>(&'a [String]);

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(k) = m.next_key::<std::borrow::Cow<'de, str>>()? {
            if self.0.iter().any(|f| f == k.as_ref()) {
                out.insert(k.into_owned(), m.next_value::<Value>()?);
            } else {
                m.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Value::Object(out))
    }
    // Anything but an object is kept as it is: the scan's type check refuses it.
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = s.next_element::<Value>()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(k: &[&str]) -> Vec<String> {
        k.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn keeps_only_the_named_fields_and_the_page_shape() {
        let body = json!({"object": "list", "url": "/v1/prices", "has_more": true, "data": [
            {"id": "a", "object": "price", "created": 5, "product": "p", "metadata": {"x": [1, 2]}},
            {"id": "b", "object": "price", "nickname": null},
            "not an object"
        ]})
        .to_string();
        let page =
            parse_page(body.as_bytes(), Some(&keys(&["id", "object", "product"]))).expect("page");
        assert_eq!(page.object, "list");
        assert!(page.has_more);
        assert_eq!(
            page.data,
            vec![
                json!({"id": "a", "object": "price", "product": "p"}),
                json!({"id": "b", "object": "price"}),
                json!("not an object"),
            ]
        );
    }

    #[test]
    fn none_keeps_everything_and_errors_stay_errors() {
        let body = br#"{"object":"list","has_more":false,"data":[{"id":"a","m":{"k":1}}]}"#;
        let page = parse_page(body, None).expect("page");
        assert_eq!(page.data, vec![json!({"id": "a", "m": {"k": 1}})]);
        let kept = parse_page(body, Some(&keys(&["m"]))).expect("page");
        assert_eq!(kept.data, vec![json!({"m": {"k": 1}})]);
        assert!(parse_page(br#"{"object":"list","data":[]}"#, Some(&keys(&["id"]))).is_err());
        assert!(parse_page(
            br#"{"object":"list","has_more":false,"data":[]} x"#,
            Some(&[])
        )
        .is_err());
    }
}
