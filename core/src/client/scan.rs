//! A list scan: today's page walk when `max_concurrency` is 1, otherwise the `created` range cut
//! into slices fetched up to `max_concurrency` pages at a time on the worker threads.
//!
//! The calling (Postgres) thread only plans and waits: requests and JSON parsing run on the
//! transport's workers, which never call into Postgres. A page is handed to the caller as soon as
//! it arrives, after the next requests were started, so the caller's work overlaps the network.

use super::concurrent::Slices;
use super::pages::{paging, Pager};
use super::Client;
use crate::error::StripeError;
use crate::plan::ListQuery;
use crate::spec::ObjectSpec;
use serde_json::Value;

/// The pages of a planned list fetch (`Fetch::List`), in no particular order across slices.
pub struct ListScan {
    client: Client,
    endpoint: &'static str,
    mode: Mode,
    requests: u64,
    /// Every page was read, or the scan failed or was cancelled: nothing more is fetched.
    done: bool,
}

enum Mode {
    /// `max_concurrency 1`: exactly the requests of the sequential page walk.
    Sequential(Pager),
    Concurrent(Box<Slices>),
}

impl ListScan {
    /// A scan of `queries` (the plan's `Fetch::List`) on `spec`'s list endpoint, asking for
    /// `first_page_limit` objects on the first page and up to `concurrency` pages at once.
    pub fn new(
        client: &Client,
        spec: &'static ObjectSpec,
        queries: Vec<ListQuery>,
        first_page_limit: u32,
        concurrency: u32,
    ) -> Self {
        let mode = if concurrency <= 1 {
            Mode::Sequential(Pager::new(queries, first_page_limit))
        } else {
            Mode::Concurrent(Box::new(Slices::new(
                client,
                spec,
                queries,
                first_page_limit,
                concurrency as usize,
            )))
        };
        ListScan {
            client: client.clone(),
            endpoint: spec.endpoint,
            mode,
            requests: 0,
            done: false,
        }
    }

    /// The next page's objects (possibly none), or `None` when every page was read. Polls
    /// `interrupted` every ~20 ms while waiting; a cancel stops every request of the scan.
    pub fn next_page(
        &mut self,
        interrupted: &dyn Fn() -> bool,
    ) -> Result<Option<Vec<Value>>, StripeError> {
        if self.done {
            return Ok(None);
        }
        let r = match &mut self.mode {
            Mode::Sequential(pager) => {
                let Some(params) = pager.next_request() else {
                    self.done = true;
                    return Ok(None);
                };
                self.requests += 1;
                match self.client.list_page(self.endpoint, &params, interrupted) {
                    Ok(page) => {
                        let last = page.data.last().and_then(|o| o.get("id"));
                        match pager.advance(last.and_then(Value::as_str), page.has_more) {
                            Ok(()) => Ok(Some(page.data)),
                            Err(e) => Err(paging(e)),
                        }
                    }
                    Err(e) => Err(e),
                }
            }
            Mode::Concurrent(s) => s.next_page(&self.client, &mut self.requests, interrupted),
        };
        if !matches!(r, Ok(Some(_))) {
            // An error, a cancel or the end: nothing more is fetched (no request is left running).
            self.done = true;
            if let Mode::Concurrent(s) = &mut self.mode {
                s.abort();
            }
        }
        r
    }

    /// Requests sent so far.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// How the scan is split, for EXPLAIN (no secrets, no values beyond counts).
    pub fn describe(&self) -> String {
        match &self.mode {
            Mode::Sequential(_) => "one page at a time".into(),
            Mode::Concurrent(s) => s.describe(self.requests),
        }
    }
}
