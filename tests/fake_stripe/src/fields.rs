//! Field helpers shared by product and price writes: metadata hashes and nullable strings.

use std::collections::BTreeMap;

use crate::errors::{ApiError, ApiResult};
use crate::params::{Node, Params};

/// Apply `metadata[...]` like Stripe: `metadata[k]=` deletes `k`, `metadata=` clears all.
pub fn apply_metadata(p: &mut Params, meta: &mut BTreeMap<String, String>) -> ApiResult<()> {
    match p.map("metadata")? {
        None => Ok(()),
        Some(None) => {
            meta.clear();
            Ok(())
        }
        Some(Some(mut m)) => {
            for (k, node) in m.drain() {
                let name = format!("metadata[{k}]");
                match node {
                    Node::Str(v) if v.is_empty() => {
                        meta.remove(&k);
                    }
                    Node::Str(v) => {
                        if k.chars().count() > 40 {
                            return Err(ApiError::invalid(
                                "Metadata keys can have a maximum length of 40 characters.",
                                Some(&name),
                            ));
                        }
                        if v.chars().count() > 500 {
                            return Err(ApiError::invalid(
                                "Metadata values can have a maximum length of 500 characters.",
                                Some(&name),
                            ));
                        }
                        meta.insert(k, v);
                    }
                    _ => {
                        return Err(ApiError::invalid(
                            format!("Invalid string: {name} must be a string"),
                            Some(&name),
                        ))
                    }
                }
            }
            if meta.len() > 50 {
                return Err(ApiError::invalid(
                    "You can specify up to 50 metadata keys.",
                    Some("metadata"),
                ));
            }
            Ok(())
        }
    }
}

/// A nullable string field on update: absent -> no change, empty -> null, else the value.
pub fn nullable_str(p: &mut Params, key: &str) -> ApiResult<Option<Option<String>>> {
    Ok(p.str(key)?
        .map(|s| if s.is_empty() { None } else { Some(s) }))
}

/// A required, non-empty string.
pub fn required_str(p: &mut Params, key: &str) -> ApiResult<String> {
    match p.str(key)? {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(ApiError::missing_param(key)),
    }
}

/// Reject strings longer than `max` characters.
pub fn check_len(value: &Option<String>, max: usize, param: &str) -> ApiResult<()> {
    match value {
        Some(v) if v.chars().count() > max => Err(ApiError::invalid(
            format!("Invalid {param}: must be at most {max} characters"),
            Some(param),
        )),
        _ => Ok(()),
    }
}
