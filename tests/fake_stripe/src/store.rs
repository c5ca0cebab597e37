//! Ordered in-memory tables: objects kept oldest-first (so creates append) with an id index.

use std::collections::HashMap;

use crate::model::Object;

/// Objects sorted ascending by (`created`, insertion order); list order is the reverse.
#[derive(Debug, Clone)]
pub struct Table<T> {
    items: Vec<T>,
    index: HashMap<String, usize>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            items: Vec::new(),
            index: HashMap::new(),
        }
    }
}

impl<T: Object> Table<T> {
    /// Build from objects in insertion order; fails on a duplicate id.
    pub fn from_vec(mut items: Vec<T>) -> Result<Table<T>, String> {
        items.sort_by_key(|o| o.created()); // stable: ties keep insertion order
        let mut index = HashMap::with_capacity(items.len());
        for (i, o) in items.iter().enumerate() {
            if index.insert(o.id().to_string(), i).is_some() {
                return Err(format!("duplicate id {}", o.id()));
            }
        }
        Ok(Table { items, index })
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn contains(&self, id: &str) -> bool {
        self.index.contains_key(id)
    }

    pub fn position(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    pub fn get(&self, id: &str) -> Option<&T> {
        self.position(id).and_then(|i| self.items.get(i))
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut T> {
        let i = self.position(id)?;
        self.items.get_mut(i)
    }

    pub fn at(&self, pos: usize) -> Option<&T> {
        self.items.get(pos)
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> {
        self.items.iter()
    }

    /// Mutable access in order; callers must keep ids and the `created` order unchanged.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.items.iter_mut()
    }

    /// Append a new object; callers guarantee `created` is >= every existing one.
    pub fn push(&mut self, item: T) {
        self.index.insert(item.id().to_string(), self.items.len());
        self.items.push(item);
    }

    pub fn remove(&mut self, id: &str) -> Option<T> {
        let pos = self.index.remove(id)?;
        let item = self.items.remove(pos);
        for (i, o) in self.items.iter().enumerate().skip(pos) {
            self.index.insert(o.id().to_string(), i);
        }
        Some(item)
    }

    /// Index range `[lo, hi)` of objects whose `created` lies in `[min, max]`.
    pub fn created_range(&self, min: Option<i64>, max: Option<i64>) -> (usize, usize) {
        let lo = match min {
            Some(m) => self.items.partition_point(|o| o.created() < m),
            None => 0,
        };
        let hi = match max {
            Some(m) => self.items.partition_point(|o| o.created() <= m),
            None => self.items.len(),
        };
        (lo, hi.max(lo))
    }

    pub fn max_created(&self) -> Option<i64> {
        self.items.last().map(|o| o.created())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Product;

    #[test]
    fn ties_keep_insertion_order_and_remove_reindexes() {
        let mk = |id: &str, created| Product::new(id.into(), id.into(), created);
        let mut t = Table::from_vec(vec![mk("a", 5), mk("b", 3), mk("c", 5), mk("d", 1)]).unwrap();
        let order: Vec<&str> = t.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(order, vec!["d", "b", "a", "c"]); // newest-first is c, a, b, d
        assert_eq!(t.created_range(Some(3), Some(5)), (1, 4));
        t.remove("b");
        assert_eq!(t.position("c"), Some(2));
        assert_eq!(t.get("a").map(|p| p.created), Some(5));
        assert!(Table::from_vec(vec![mk("a", 1), mk("a", 2)]).is_err());
    }
}
