//! The page walk of a list request: `limit`, `starting_after` from the last id, stop on `has_more: false`.
//! Pure state machine; the HTTP client feeds it pages.

use crate::error::StripeError;
use crate::plan::{ListQuery, MAX_PAGE};
use serde_json::Value;

/// Walks the pages of a sequence of list queries (batches), one page at a time.
#[derive(Debug, Clone)]
pub struct Pager {
    queries: Vec<ListQuery>,
    index: usize,
    first_limit: u32,
    cursor: Option<String>,
    pages_in_query: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    #[error("Stripe returned the cursor \"{0}\" twice; stopping rather than looping")]
    RepeatedCursor(String),
    #[error("Stripe said has_more but sent an empty page")]
    EmptyPageWithMore,
    #[error("Stripe said has_more for a request that takes no cursor (ids[] batch of {0})")]
    MoreThanOnePage(usize),
}

impl Pager {
    pub fn new(queries: Vec<ListQuery>, first_limit: u32) -> Self {
        Pager {
            queries,
            index: 0,
            first_limit: first_limit.clamp(1, MAX_PAGE),
            cursor: None,
            pages_in_query: 0,
        }
    }

    /// The query parameters of the next page, or `None` when every page was read.
    pub fn next_request(&self) -> Option<Vec<(String, String)>> {
        let q = self.queries.get(self.index)?;
        let mut params = q.params.clone();
        let limit = if self.pages_in_query == 0 && self.index == 0 {
            self.first_limit
        } else {
            MAX_PAGE
        };
        params.push(("limit".to_string(), limit.to_string()));
        if let Some(c) = &self.cursor {
            params.push(("starting_after".to_string(), c.clone()));
        }
        Some(params)
    }

    /// Record a page: `last_id` is the id of its last object, `has_more` Stripe's flag.
    pub fn advance(&mut self, last_id: Option<&str>, has_more: bool) -> Result<(), PageError> {
        let Some(q) = self.queries.get(self.index) else {
            return Ok(());
        };
        if has_more && !q.paged {
            return Err(PageError::MoreThanOnePage(q.params.len()));
        }
        if has_more {
            let id = last_id.ok_or(PageError::EmptyPageWithMore)?;
            if self.cursor.as_deref() == Some(id) {
                return Err(PageError::RepeatedCursor(id.to_string()));
            }
            self.cursor = Some(id.to_string());
            self.pages_in_query += 1;
        } else {
            self.index += 1;
            self.cursor = None;
            self.pages_in_query = 0;
        }
        Ok(())
    }
}

/// A paging error as the client reports it: a body Stripe should not have sent.
pub(crate) fn paging(e: PageError) -> StripeError {
    StripeError::BadBody {
        reason: e.to_string(),
        request_id: None,
    }
}

/// An object's `created` (how concurrent scans slice and order pages).
pub(crate) fn created(v: &Value) -> Option<i64> {
    v.get("created").and_then(Value::as_i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(params: &[(&str, &str)], paged: bool) -> ListQuery {
        ListQuery {
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            paged,
        }
    }
    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn follows_the_cursor_chain_and_only_the_first_page_is_small() {
        let mut pager = Pager::new(vec![q(&[("active", "true")], true)], 5);
        assert_eq!(
            pager.next_request(),
            Some(p(&[("active", "true"), ("limit", "5")]))
        );
        pager.advance(Some("a5"), true).expect("page");
        assert_eq!(
            pager.next_request(),
            Some(p(&[
                ("active", "true"),
                ("limit", "100"),
                ("starting_after", "a5")
            ]))
        );
        pager.advance(Some("b9"), true).expect("page");
        assert_eq!(
            pager.next_request().map(|r| r[2].1.clone()),
            Some("b9".to_string())
        );
        pager.advance(Some("c1"), false).expect("page");
        assert_eq!(pager.next_request(), None);
    }

    #[test]
    fn batches_run_one_after_another() {
        let mut pager = Pager::new(vec![q(&[("k", "1")], true), q(&[("k", "2")], true)], 100);
        pager.advance(Some("x"), false).expect("page");
        assert_eq!(
            pager.next_request(),
            Some(p(&[("k", "2"), ("limit", "100")]))
        );
        pager.advance(None, false).expect("page");
        assert_eq!(pager.next_request(), None);
    }

    #[test]
    fn guards_against_loops_and_impossible_pages() {
        let mut pager = Pager::new(vec![q(&[], true)], 100);
        pager.advance(Some("x"), true).expect("page");
        assert_eq!(
            pager.advance(Some("x"), true),
            Err(PageError::RepeatedCursor("x".into()))
        );
        let mut pager = Pager::new(vec![q(&[], true)], 100);
        assert_eq!(pager.advance(None, true), Err(PageError::EmptyPageWithMore));
        let mut pager = Pager::new(vec![q(&[("ids[]", "a")], false)], 100);
        assert_eq!(
            pager.advance(Some("a"), true),
            Err(PageError::MoreThanOnePage(1))
        );
    }
}
