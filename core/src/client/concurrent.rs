//! The concurrent half of a list scan: slices of the `created` range, their requests on the worker
//! threads, the shared backoff, and cutting a dense slice again when a worker is idle.

use super::pages::{created, paging, PageError};
use super::request::{Backoff, Requester};
use super::slices::{cut, page_span, query_bounds, slice_params, QueryBounds};
use super::{lost_task, Client, ListPage};
use crate::error::StripeError;
use crate::plan::{ListQuery, MAX_PAGE};
use crate::spec::{FilterKind, ObjectSpec};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::task::JoinSet;

/// A query of the plan, as the slices see it.
struct Query {
    params: Vec<(String, String)>,
    paged: bool,
    /// Its `created` bounds and other filters, when it can be cut by `created`.
    bounds: Option<QueryBounds>,
}

struct Slice {
    query: usize,
    /// A root slice sends its query's own parameters; others send `created` bounds of their own.
    root: bool,
    /// Objects older than this belong to another slice (it may be above what the requests ask for).
    floor: Option<i64>,
    ceil: Option<i64>,
    cursor: Option<String>,
    newest: Option<i64>,
    oldest: Option<i64>,
    items: u64,
    pages: u32,
    in_flight: bool,
    /// False when an object without a readable `created` was seen: the slice is not cut again.
    splittable: bool,
}

impl Slice {
    /// A slice of query `query` between `floor` and `ceil`, not yet read.
    fn new(
        query: usize,
        root: bool,
        floor: Option<i64>,
        ceil: Option<i64>,
        splittable: bool,
    ) -> Self {
        Slice {
            query,
            root,
            floor,
            ceil,
            cursor: None,
            newest: None,
            oldest: None,
            items: 0,
            pages: 0,
            in_flight: false,
            splittable,
        }
    }
}

pub(super) struct Slices {
    endpoint: &'static str,
    queries: Vec<Query>,
    slices: Vec<Option<Slice>>,
    queue: VecDeque<usize>,
    tasks: JoinSet<(usize, Result<ListPage, StripeError>)>,
    backoff: Arc<Backoff>,
    req: Arc<Requester>,
    max: usize,
    /// Requests at once now: `max`, halved by each rate-limit answer.
    limit: usize,
    throttled_seen: u32,
    first_limit: u32,
    /// The first page arrived (with a small first page, nothing else starts before it did).
    warm: bool,
    open_cuts: u32,
    cuts: u32,
}

impl Slices {
    pub(super) fn new(
        client: &Client,
        spec: &'static ObjectSpec,
        queries: Vec<ListQuery>,
        first_limit: u32,
        max: usize,
    ) -> Self {
        let by_created = spec
            .filters
            .iter()
            .any(|f| matches!(f.kind, FilterKind::Range("created")));
        let queries: Vec<Query> = queries
            .into_iter()
            .map(|q| Query {
                bounds: (by_created && q.paged)
                    .then(|| query_bounds(&q.params))
                    .flatten()
                    .filter(|b| b.lo.is_none() || b.lo != b.hi),
                params: q.params,
                paged: q.paged,
            })
            .collect();
        let slices: Vec<Option<Slice>> = queries
            .iter()
            .enumerate()
            .map(|(i, q)| {
                Some(Slice::new(
                    i,
                    true,
                    q.bounds.as_ref().and_then(|b| b.lo),
                    q.bounds.as_ref().and_then(|b| b.hi),
                    q.bounds.is_some(),
                ))
            })
            .collect();
        Slices {
            endpoint: spec.endpoint,
            queue: (0..slices.len()).collect(),
            queries,
            slices,
            tasks: JoinSet::new(),
            backoff: Arc::new(Backoff::default()),
            req: client.requester(),
            max: max.min(64),
            limit: max.min(64),
            throttled_seen: 0,
            first_limit: first_limit.clamp(1, MAX_PAGE),
            warm: false,
            open_cuts: 0,
            cuts: 0,
        }
    }

    pub(super) fn next_page(
        &mut self,
        client: &Client,
        requests: &mut u64,
        interrupted: &dyn Fn() -> bool,
    ) -> Result<Option<Vec<Value>>, StripeError> {
        loop {
            if self.warm {
                self.rebalance();
            }
            self.pump(client, requests);
            if self.tasks.is_empty() {
                return Ok(None);
            }
            let joined = match client.wait(self.tasks.join_next(), interrupted) {
                Ok(Some(j)) => j,
                Ok(None) => continue,
                Err(e) => return Err(self.stop(e)),
            };
            let (id, page) = match joined {
                Ok((id, Ok(page))) => (id, page),
                Ok((_, Err(e))) => return Err(self.stop(e)),
                Err(e) => return Err(self.stop(lost_task(e))),
            };
            let throttled = self.backoff.throttled();
            if throttled > self.throttled_seen {
                // Stripe's rate limit: fewer requests at once for the rest of the scan.
                self.throttled_seen = throttled;
                self.limit = (self.limit / 2).max(1);
            }
            let data = self.absorb(id, page).map_err(|e| self.stop(e))?;
            let first = !self.warm;
            self.warm = true;
            if !first {
                // Start what comes next before the caller works through this page. After the
                // first page nothing more starts unless the caller asks for more rows: a query
                // that stops there (LIMIT, EXISTS) costs one request, as a sequential scan does.
                self.rebalance();
                self.pump(client, requests);
            }
            return Ok(Some(data));
        }
    }

    fn stop(&mut self, e: StripeError) -> StripeError {
        self.abort();
        e
    }

    /// Abort every request in flight and forget the queue.
    pub(super) fn abort(&mut self) {
        self.tasks.abort_all();
        self.queue.clear();
    }

    /// Start queued slices' next requests, up to the current limit.
    fn pump(&mut self, client: &Client, requests: &mut u64) {
        let cap = if self.warm || self.first_limit == MAX_PAGE {
            self.limit
        } else {
            1
        };
        while self.tasks.len() < cap {
            let Some(id) = self.queue.pop_front() else {
                break;
            };
            let Some(Some(s)) = self.slices.get_mut(id) else {
                continue;
            };
            let Some(q) = self.queries.get(s.query) else {
                continue;
            };
            let mut params = match (&q.bounds, s.root) {
                (Some(b), false) => slice_params(b, s.floor, s.ceil),
                _ => q.params.clone(),
            };
            let limit = if *requests == 0 {
                self.first_limit
            } else {
                MAX_PAGE
            };
            params.push(("limit".into(), limit.to_string()));
            if let Some(c) = &s.cursor {
                params.push(("starting_after".into(), c.clone()));
            }
            s.in_flight = true;
            *requests += 1;
            let url = client.url(&[self.endpoint], &params);
            let (req, backoff) = (self.req.clone(), self.backoff.clone());
            self.tasks.spawn_on(
                async move { (id, req.list_page(url, &backoff).await) },
                client.handle(),
            );
        }
    }

    /// Take in a page of slice `id`: check the paging, drop what belongs to older slices, note how
    /// dense the slice is, and queue its next request unless it is finished.
    fn absorb(&mut self, id: usize, page: ListPage) -> Result<Vec<Value>, StripeError> {
        let Some(slot) = self.slices.get_mut(id) else {
            return Ok(page.data);
        };
        let Some(s) = slot.as_mut() else {
            return Ok(page.data);
        };
        s.in_flight = false;
        s.pages += 1;
        let paged = self.queries.get(s.query).is_some_and(|q| q.paged);
        if page.has_more && !paged {
            return Err(paging(PageError::MoreThanOnePage(
                self.queries.get(s.query).map_or(0, |q| q.params.len()),
            )));
        }
        let last_id = page
            .data
            .last()
            .and_then(|o| o.get("id"))
            .and_then(Value::as_str)
            .map(str::to_string);
        if page.has_more {
            let Some(last) = &last_id else {
                return Err(paging(PageError::EmptyPageWithMore));
            };
            if s.cursor.as_deref() == Some(last.as_str()) {
                return Err(paging(PageError::RepeatedCursor(last.clone())));
            }
        }
        if page.data.iter().any(|o| created(o).is_none()) {
            s.splittable = false;
        }
        let mut finished = !page.has_more;
        let mut data = page.data;
        if let Some(f) = s.floor {
            // Objects below the floor belong to a slice cut off this one after its request left.
            let before = data.len();
            data.retain(|o| created(o).is_none_or(|c| c >= f));
            finished |= data.len() < before;
        }
        if let (Some(first), Some(last)) = (data.first(), data.last()) {
            s.newest = s.newest.or(created(first));
            s.oldest = created(last).or(s.oldest);
            s.items += data.len() as u64;
        }
        if finished {
            *slot = None;
        } else {
            s.cursor = last_id;
            self.queue.push_back(id);
        }
        Ok(data)
    }

    /// While fewer slices run than requests may, cut the one with the most left to read.
    fn rebalance(&mut self) {
        loop {
            let idle = self
                .limit
                .saturating_sub(self.tasks.len() + self.queue.len());
            if idle == 0 {
                return;
            }
            let mut best: Option<(usize, f64, Option<i64>, i64, i64)> = None;
            for (id, s) in self.slices.iter().enumerate() {
                let Some(s) = s else { continue };
                let (Some(newest), Some(oldest)) = (s.newest, s.oldest) else {
                    continue;
                };
                if !s.splittable || s.pages == 0 {
                    continue;
                }
                let span = page_span(newest, oldest, s.items);
                let position = if s.in_flight {
                    oldest.saturating_sub(span)
                } else {
                    oldest
                };
                let left = match s.floor {
                    None => f64::INFINITY,
                    Some(f) => (position.saturating_sub(f) as f64 + 1.0) / span as f64,
                };
                if best.as_ref().is_none_or(|b| left > b.1) {
                    best = Some((id, left, s.floor, position, span));
                }
            }
            let Some((id, _, floor, position, span)) = best else {
                return;
            };
            let Some(c) = cut(floor, position, span, idle, self.open_cuts) else {
                return;
            };
            let Some(Some(s)) = self.slices.get_mut(id) else {
                return;
            };
            s.floor = Some(c.keep_from);
            let query = s.query;
            if floor.is_none() {
                self.open_cuts += 1;
            }
            self.cuts += 1;
            for (lo, hi) in c.pieces {
                self.queue.push_back(self.slices.len());
                self.slices
                    .push(Some(Slice::new(query, false, lo, Some(hi), true)));
            }
        }
    }

    pub(super) fn describe(&self, requests: u64) -> String {
        let cuttable = self.queries.iter().any(|q| q.bounds.is_some());
        let mut out = if cuttable {
            format!(
                "created ranges cut adaptively, up to {} requests at once",
                self.max
            )
        } else {
            format!(
                "{} list requests, up to {} at once (not cut by created)",
                self.queries.len(),
                self.max
            )
        };
        if requests > 0 {
            out.push_str(&format!(
                "; {} slices after {} cuts, {} requests",
                self.slices.len(),
                self.cuts,
                requests
            ));
        }
        if self.limit < self.max {
            out.push_str(&format!(
                "; slowed to {} at once by Stripe's rate limit",
                self.limit
            ));
        }
        out
    }
}
