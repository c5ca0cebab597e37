//! What EXPLAIN shows of a plan: the first request exactly as it is sent.

use super::{Fetch, Plan};
use crate::client::pages::Pager;
use crate::client::request_url;
use crate::spec::ObjectSpec;
use url::Url;

impl Plan {
    /// A one-line description of the requests for EXPLAIN: the first request's path and query
    /// exactly as they are sent (percent-encoded, below `base`'s path). Never contains credentials.
    pub fn describe(&self, spec: &ObjectSpec, base: &Url) -> String {
        let shown = |segments: &[&str], params: &[(String, String)]| {
            let url = request_url(base, segments, params);
            let text = match url.query() {
                Some(q) => format!("GET {}?{q}", url.path()),
                None => format!("GET {}", url.path()),
            };
            // The URL encoder escapes control characters already; never let one through.
            text.chars()
                .flat_map(char::escape_default)
                .collect::<String>()
        };
        match &self.fetch {
            Fetch::Nothing => "none (the conditions cannot all hold)".to_string(),
            Fetch::Single => shown(&[spec.endpoint], &[]),
            Fetch::NeedsCondition(column) => {
                format!("none: {} needs a condition {column} = ...", spec.table)
            }
            Fetch::Retrieve(ids) => {
                let first: Vec<String> = ids
                    .iter()
                    .take(5)
                    .map(|id| shown(&[spec.endpoint, id], &[]))
                    .collect();
                let more = ids.len().saturating_sub(5);
                if more > 0 {
                    format!("{} (+{more} more)", first.join(", "))
                } else {
                    first.join(", ")
                }
            }
            Fetch::List(queries) => {
                let pager = Pager::new(queries.clone(), self.first_page_limit);
                let params = pager.next_request().unwrap_or_default();
                let pages = if queries.first().is_some_and(|q| q.paged) {
                    "then every page while has_more"
                } else {
                    "one page"
                };
                let batches = if queries.len() > 1 {
                    format!(", in {} batches", queries.len())
                } else {
                    String::new()
                };
                format!("{} ({pages}{batches})", shown(&[spec.endpoint], &params))
            }
        }
    }
}
