//! One scan: walks the planned Stripe requests lazily and turns objects into rows, a page at a time.

use crate::cells::to_datum;
use crate::error::FdwError;
use pgrx::pg_sys::{self, Oid};
use serde_json::Value;
use stripe_fdw_core::client::scan::ListScan;
use stripe_fdw_core::client::Client;
use stripe_fdw_core::plan::{Fetch, Plan};
use stripe_fdw_core::spec::{Access, ColumnSpec, ObjectSpec};
use stripe_fdw_core::value::{extract, take};
use stripe_fdw_core::StripeError;

/// A column the query reads: its spec, the type it is declared with and its slot index.
pub struct Target {
    pub spec: &'static ColumnSpec,
    pub oid: Oid,
    pub index: usize,
}

enum Source {
    Ids(std::vec::IntoIter<String>),
    Pages(ListScan),
    /// The one object of `GET /<endpoint>`, not yet fetched.
    Single,
    Done,
}

pub struct Scan {
    spec: &'static ObjectSpec,
    client: Client,
    source: Source,
    page: std::vec::IntoIter<Value>,
    targets: Vec<Target>,
    unfiltered: bool,
    /// Per target: its value may be moved out of the object (no other column reads that path).
    movable: Vec<bool>,
    /// Requests sent so far (for EXPLAIN ANALYZE).
    pub requests: u64,
    /// How the finished list scan was split (for EXPLAIN ANALYZE).
    split: Option<String>,
    pub rows: u64,
}

/// True when Postgres wants this query to stop (cancel, statement_timeout, terminate).
pub(crate) fn interrupted() -> bool {
    unsafe {
        std::ptr::read_volatile(std::ptr::addr_of!(pg_sys::QueryCancelPending)) != 0
            || std::ptr::read_volatile(std::ptr::addr_of!(pg_sys::ProcDiePending)) != 0
    }
}

/// A client error as ours; a cancelled wait becomes Postgres' own cancel error (with its own
/// message and SQLSTATE), raised here.
pub(crate) fn stripe_error(e: StripeError) -> FdwError {
    if matches!(e, StripeError::Cancelled) {
        pgrx::check_for_interrupts!();
    }
    FdwError::from(e)
}

fn settle<T>(r: Result<T, StripeError>) -> Result<T, FdwError> {
    r.map_err(stripe_error)
}

impl Scan {
    /// `concurrency`: list pages fetched at once (1 keeps Stripe's order, newest first).
    pub fn new(
        spec: &'static ObjectSpec,
        client: Client,
        plan: &Plan,
        targets: Vec<Target>,
        concurrency: u32,
    ) -> Self {
        let source = match &plan.fetch {
            // NeedsCondition is refused before a scan starts (exec.rs); no request either way.
            Fetch::Nothing | Fetch::NeedsCondition(_) => Source::Done,
            Fetch::Single => Source::Single,
            Fetch::Retrieve(ids) => Source::Ids(ids.clone().into_iter()),
            Fetch::List(queries) => Source::Pages(ListScan::new(
                &client,
                spec,
                queries.clone(),
                plan.first_page_limit,
                concurrency,
            )),
        };
        // A column's value may be moved out when no other column reads any part of it (by its path
        // or its fallback). A column with a fallback reads two places: it is always copied.
        let overlap = |a: &[&str], b: &[&str]| {
            !a.is_empty() && !b.is_empty() && (a.starts_with(b) || b.starts_with(a))
        };
        let movable = targets
            .iter()
            .enumerate()
            .map(|(i, t)| {
                !t.spec.path.is_empty()
                    && t.spec.fallback.is_empty()
                    && targets.iter().enumerate().all(|(j, o)| {
                        j == i
                            || !(o.spec.path.is_empty()
                                || overlap(o.spec.path, t.spec.path)
                                || overlap(o.spec.fallback, t.spec.path))
                    })
            })
            .collect();
        let unfiltered =
            matches!(&plan.fetch, Fetch::List(qs) if qs.len() == 1 && qs[0].params.is_empty());
        Scan {
            unfiltered,
            movable,
            spec,
            client,
            source,
            page: Vec::new().into_iter(),
            targets,
            requests: 0,
            rows: 0,
            split: None,
        }
    }

    /// Fill `values`/`nulls` (a slot's arrays, already all NULL) with the next object's columns,
    /// as datums in the current memory context; false at the end.
    pub fn next_row(
        &mut self,
        values: &mut [pg_sys::Datum],
        nulls: &mut [bool],
    ) -> Result<bool, FdwError> {
        loop {
            if let Some(obj) = self.page.next() {
                // A retrieve answers a deleted customer with `{"id", "object", "deleted": true}`;
                // a list never shows it. It is no row.
                if obj.get("deleted").and_then(Value::as_bool) == Some(true) {
                    continue;
                }
                // The rows of a single object are its entries, checked as that object.
                if !matches!(self.spec.access, Access::Single { .. }) {
                    self.check_object(&obj)?;
                }
                self.fill(values, nulls, obj)?;
                self.rows += 1;
                return Ok(true);
            }
            if !self.fetch()? {
                return Ok(false);
            }
        }
    }

    /// Fetch the next page (or object) into the buffer; false when there is nothing more to fetch.
    fn fetch(&mut self) -> Result<bool, FdwError> {
        match &mut self.source {
            Source::Done => Ok(false),
            Source::Ids(ids) => {
                let Some(id) = ids.next() else {
                    self.source = Source::Done;
                    return Ok(false);
                };
                self.requests += 1;
                let found = settle(self.client.retrieve(self.spec.endpoint, &id, &interrupted))?;
                self.page = found.into_iter().collect::<Vec<_>>().into_iter();
                Ok(true)
            }
            Source::Single => {
                self.requests += 1;
                let obj = settle(self.client.get_object(&[self.spec.endpoint], &interrupted))?;
                self.check_object(&obj)?;
                self.page = single_rows(self.spec, obj).into_iter();
                self.source = Source::Done;
                Ok(true)
            }
            Source::Pages(list) => {
                let before = list.requests();
                let page = list.next_page(&interrupted);
                self.requests += list.requests() - before;
                match settle(page)? {
                    Some(objects) => {
                        self.page = objects.into_iter();
                        Ok(true)
                    }
                    None => {
                        self.split = Some(list.describe());
                        self.source = Source::Done;
                        Ok(false)
                    }
                }
            }
        }
    }

    /// Every object a page or a retrieve returns must be of the table's object type: anything else
    /// (a list object, another type) means the request went somewhere it should not have.
    fn check_object(&self, obj: &Value) -> Result<(), FdwError> {
        if obj.get("object").and_then(Value::as_str) == Some(self.spec.object_type) {
            return Ok(());
        }

        // What the body said instead is not repeated: a broken or hostile endpoint can put
        // anything there, the request's own Authorization header included.
        Err(FdwError::Stripe(StripeError::BadBody {
            reason: format!(
                "expected {} objects, got an object of another type",
                self.spec.object_type
            ),
            request_id: None,
        }))
    }

    fn fill(
        &self,
        values: &mut [pg_sys::Datum],
        nulls: &mut [bool],
        mut obj: Value,
    ) -> Result<(), FdwError> {
        let mut put = |t: &Target, d: Option<pg_sys::Datum>| {
            if let (Some(v), Some(n)) = (values.get_mut(t.index), nulls.get_mut(t.index)) {
                *n = d.is_none();
                *v = d.unwrap_or(pg_sys::Datum::from(0));
            }
        };
        // First the columns read by reference (the whole object, and paths that overlap another
        // column's), then the rest moved out of the object without a copy.
        for (i, t) in self.targets.iter().enumerate() {
            if self.movable[i] {
                continue;
            }
            let d = if t.spec.path.is_empty() {
                Some(crate::cells::json_datum(&obj, t.oid)?)
            } else {
                to_datum(extract(&obj, t.spec)?, t.oid, t.spec.name)?
            };
            put(t, d);
        }
        for (i, t) in self.targets.iter().enumerate() {
            if self.movable[i] {
                put(t, to_datum(take(&mut obj, t.spec)?, t.oid, t.spec.name)?);
            }
        }
        Ok(())
    }

    /// True when the scan is one list request without filters (its row count is the table's).
    pub fn unfiltered(&self) -> bool {
        self.unfiltered
    }

    /// How the list requests were split, once any was sent.
    pub fn split(&self) -> Option<String> {
        match &self.source {
            Source::Pages(list) if list.requests() > 0 => Some(list.describe()),
            _ => self.split.clone(),
        }
    }

    /// True when every page was read.
    pub fn finished(&self) -> bool {
        matches!(self.source, Source::Done)
    }
}

/// The rows of a single object (the balance): every entry of each array in `rows`, with the
/// array's name in column `label`, as Supabase Wrappers shows the balance. `attrs` of a row is
/// its entry.
fn single_rows(spec: &ObjectSpec, obj: Value) -> Vec<Value> {
    let Access::Single { rows, label } = spec.access else {
        return vec![obj];
    };
    let mut out = Vec::new();
    for name in rows {
        let entries = obj
            .get(*name)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for mut entry in entries {
            if let Some(m) = entry.as_object_mut() {
                m.insert(label.to_string(), Value::String(name.to_string()));
                out.push(entry);
            }
        }
    }
    out
}
