//! Stripe bracket-syntax parameters (`a[b][0]=v`, `ids[]=x`) parsed into a tree with strict,
//! consume-what-you-know accessors: whatever is left over is an unknown parameter.

use crate::errors::{ApiError, ApiResult};

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Str(String),
    List(Vec<String>),
    Map(Params),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    prefix: String,
    entries: Vec<(String, Node)>,
}

/// Split `a[b][]` into `["a", "b", ""]`; a malformed key stays one literal segment.
fn split_key(key: &str) -> Vec<String> {
    let Some(open) = key.find('[') else {
        return vec![key.to_string()];
    };
    let mut segs = vec![key[..open].to_string()];
    let mut rest = &key[open..];
    while !rest.is_empty() {
        if !rest.starts_with('[') {
            return vec![key.to_string()];
        }
        match rest.find(']') {
            Some(close) => {
                segs.push(rest[1..close].to_string());
                rest = &rest[close + 1..];
            }
            None => return vec![key.to_string()],
        }
    }
    if segs[0].is_empty() {
        return vec![key.to_string()];
    }
    segs
}

fn join_name(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}[{key}]")
    }
}

impl Params {
    /// Build the tree from decoded `(key, value)` pairs in the order received.
    pub fn parse(pairs: &[(String, String)]) -> ApiResult<Params> {
        let mut root = Params::default();
        for (k, v) in pairs {
            let segs = split_key(k);
            root.insert(&segs, v.clone())?;
        }
        Ok(root)
    }

    fn find_mut(&mut self, key: &str) -> Option<&mut Node> {
        self.entries
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, n)| n)
    }

    fn insert(&mut self, segs: &[String], value: String) -> ApiResult<()> {
        let Some((head, rest)) = segs.split_first() else {
            return Ok(());
        };
        let name = join_name(&self.prefix, head);
        if rest.is_empty() {
            if self.find_mut(head).is_some() {
                return Err(ApiError::invalid(
                    format!("Invalid {name}: the parameter was given more than once"),
                    Some(&name),
                ));
            }
            self.entries.push((head.clone(), Node::Str(value)));
            return Ok(());
        }
        if rest.len() == 1 && rest[0].is_empty() {
            match self.find_mut(head) {
                Some(Node::List(items)) => items.push(value),
                Some(_) => {
                    return Err(ApiError::invalid(
                        format!("Invalid array: {name}"),
                        Some(&name),
                    ))
                }
                None => self.entries.push((head.clone(), Node::List(vec![value]))),
            }
            return Ok(());
        }
        if rest[0].is_empty() {
            return Err(ApiError::invalid(
                format!("Invalid array: {name}"),
                Some(&name),
            ));
        }
        if self.find_mut(head).is_none() {
            self.entries.push((
                head.clone(),
                Node::Map(Params {
                    prefix: name.clone(),
                    entries: Vec::new(),
                }),
            ));
        }
        match self.find_mut(head) {
            Some(Node::Map(child)) => child.insert(rest, value),
            _ => Err(ApiError::invalid(
                format!("Invalid hash: {name}"),
                Some(&name),
            )),
        }
    }

    pub fn name(&self, key: &str) -> String {
        join_name(&self.prefix, key)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn take(&mut self, key: &str) -> Option<Node> {
        let pos = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.remove(pos).1)
    }

    pub fn has(&self, key: &str) -> bool {
        self.entries.iter().any(|(k, _)| k == key)
    }

    /// Remaining entries (used for free-form hashes like `metadata`).
    pub fn drain(&mut self) -> Vec<(String, Node)> {
        std::mem::take(&mut self.entries)
    }

    pub fn str(&mut self, key: &str) -> ApiResult<Option<String>> {
        match self.take(key) {
            None => Ok(None),
            Some(Node::Str(s)) => Ok(Some(s)),
            Some(_) => {
                let name = self.name(key);
                Err(ApiError::invalid(
                    format!("Invalid string: {name} must be a string"),
                    Some(&name),
                ))
            }
        }
    }

    pub fn int(&mut self, key: &str) -> ApiResult<Option<i64>> {
        let name = self.name(key);
        match self.str(key)? {
            None => Ok(None),
            Some(s) => s
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| ApiError::invalid_integer(&s, &name)),
        }
    }

    pub fn number(&mut self, key: &str) -> ApiResult<Option<f64>> {
        let name = self.name(key);
        match self.str(key)? {
            None => Ok(None),
            Some(s) => match s.trim().parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(Some(v)),
                _ => Err(ApiError::invalid(
                    format!("Invalid decimal: {s}"),
                    Some(&name),
                )),
            },
        }
    }

    pub fn bool(&mut self, key: &str) -> ApiResult<Option<bool>> {
        let name = self.name(key);
        match self.str(key)? {
            None => Ok(None),
            Some(s) => match s.as_str() {
                "true" => Ok(Some(true)),
                "false" => Ok(Some(false)),
                _ => Err(ApiError::invalid_boolean(&s, &name)),
            },
        }
    }

    /// One of `allowed`, with Stripe's "must be one of a, b, or c" message.
    pub fn enumerated(&mut self, key: &str, allowed: &[&str]) -> ApiResult<Option<String>> {
        let name = self.name(key);
        match self.str(key)? {
            None => Ok(None),
            Some(s) if allowed.contains(&s.as_str()) => Ok(Some(s)),
            Some(_) => Err(ApiError::invalid(
                format!("Invalid {key}: must be one of {}", one_of(allowed)),
                Some(&name),
            )),
        }
    }

    /// `k[]=a&k[]=b` or `k[0]=a&k[1]=b`.
    pub fn list(&mut self, key: &str) -> ApiResult<Option<Vec<String>>> {
        let name = self.name(key);
        let bad = || ApiError::invalid(format!("Invalid array: {name}"), Some(&name));
        match self.take(key) {
            None => Ok(None),
            Some(Node::List(v)) => Ok(Some(v)),
            Some(Node::Map(m)) => {
                let mut items = Vec::new();
                for (idx, node) in m.entries {
                    let i: usize = idx.parse().map_err(|_| bad())?;
                    match node {
                        Node::Str(s) => items.push((i, s)),
                        _ => return Err(bad()),
                    }
                }
                items.sort_by_key(|(i, _)| *i);
                Ok(Some(items.into_iter().map(|(_, s)| s).collect()))
            }
            Some(Node::Str(s)) if s.is_empty() => Ok(Some(Vec::new())),
            Some(Node::Str(_)) => Err(bad()),
        }
    }

    /// `k[0][a]=..&k[1][a]=..` as a list of hashes; `k=` (empty) is an empty list.
    pub fn list_of_maps(&mut self, key: &str) -> ApiResult<Option<Vec<Params>>> {
        let name = self.name(key);
        let bad = || ApiError::invalid(format!("Invalid array: {name}"), Some(&name));
        match self.take(key) {
            None => Ok(None),
            Some(Node::Str(s)) if s.is_empty() => Ok(Some(Vec::new())),
            Some(Node::Map(m)) => {
                let mut items = Vec::new();
                for (idx, node) in m.entries {
                    let i: usize = idx.parse().map_err(|_| bad())?;
                    match node {
                        Node::Map(p) => items.push((i, p)),
                        _ => return Err(bad()),
                    }
                }
                items.sort_by_key(|(i, _)| *i);
                Ok(Some(items.into_iter().map(|(_, p)| p).collect()))
            }
            Some(_) => Err(bad()),
        }
    }

    /// A nested hash; `Ok(Some(None))` when sent as an empty string (unset).
    pub fn map(&mut self, key: &str) -> ApiResult<Option<Option<Params>>> {
        let name = self.name(key);
        match self.take(key) {
            None => Ok(None),
            Some(Node::Map(m)) => Ok(Some(Some(m))),
            Some(Node::Str(s)) if s.is_empty() => Ok(Some(None)),
            Some(_) => Err(ApiError::invalid(
                format!("Invalid hash: {name} must be a hash"),
                Some(&name),
            )),
        }
    }

    /// Reject up front any top-level parameter not in `allowed` (Stripe checks names first).
    pub fn only(&self, allowed: &[&str]) -> ApiResult<()> {
        match self
            .entries
            .iter()
            .find(|(k, _)| !allowed.contains(&k.as_str()))
        {
            None => Ok(()),
            Some((k, _)) => Err(ApiError::unknown_param(&join_name(&self.prefix, k))),
        }
    }

    /// Error out on the first parameter nobody consumed.
    pub fn finish(self) -> ApiResult<()> {
        match self.entries.first() {
            None => Ok(()),
            Some((k, _)) => Err(ApiError::unknown_param(&join_name(&self.prefix, k))),
        }
    }
}

pub fn one_of(allowed: &[&str]) -> String {
    match allowed {
        [] => String::new(),
        [a] => a.to_string(),
        [a, b] => format!("{a} or {b}"),
        [init @ .., last] => format!("{}, or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> ApiResult<Params> {
        let v: Vec<(String, String)> = pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        Params::parse(&v)
    }

    #[test]
    fn nested_and_arrays() {
        let mut ps = p(&[
            ("ids[]", "a"),
            ("ids[]", "b"),
            ("recurring[interval]", "month"),
            ("mf[0][name]", "x"),
            ("mf[1][name]", "y"),
            ("lk[1]", "second"),
            ("lk[0]", "first"),
        ])
        .unwrap();
        assert_eq!(ps.list("ids").unwrap().unwrap(), vec!["a", "b"]);
        assert_eq!(ps.list("lk").unwrap().unwrap(), vec!["first", "second"]);
        let mut r = ps.map("recurring").unwrap().unwrap().unwrap();
        assert_eq!(r.str("interval").unwrap().unwrap(), "month");
        r.finish().unwrap();
        let mf = ps.list_of_maps("mf").unwrap().unwrap();
        assert_eq!(mf.len(), 2);
        ps.finish().unwrap();
    }

    #[test]
    fn repeated_scalar_and_unknown_nested() {
        assert!(p(&[("limit", "1"), ("limit", "2")]).is_err());
        let mut ps = p(&[("recurring[foo]", "1")]).unwrap();
        let r = ps.map("recurring").unwrap().unwrap().unwrap();
        let e = r.finish().unwrap_err();
        assert_eq!(e.param.as_deref(), Some("recurring[foo]"));
    }

    #[test]
    fn one_of_messages() {
        assert_eq!(one_of(&["a", "b"]), "a or b");
        assert_eq!(one_of(&["a", "b", "c"]), "a, b, or c");
    }
}
