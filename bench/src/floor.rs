//! The floor: the FDW's page walk and value extraction with stripe_fdw_core alone, no Postgres.

use serde_json::Value;
use std::rc::Rc;
use std::time::{Duration, Instant};
use stripe_fdw_core::client::pages::Pager;
use stripe_fdw_core::client::retry::Policy;
use stripe_fdw_core::client::{Client, ClientConfig, ListScan, Transport};
use stripe_fdw_core::plan::{plan, Fetch};
use stripe_fdw_core::value::{extract, CellValue};

/// One floor scan: rows seen, requests sent, wall time.
pub struct Scan {
    pub rows: u64,
    pub requests: u64,
    pub elapsed: Duration,
}

/// A core `Client` configured as the FDW configures it with default server options.
pub fn client(transport: &Rc<Transport>, base_url: &str, api_key: &str) -> Client {
    let cfg = ClientConfig {
        base_url: url::Url::parse(base_url).expect("fake base url"),
        api_key: api_key.to_string(),
        api_version: None,
        account: None,
        connect_timeout: Duration::from_secs(10),
        request_timeout: Duration::from_secs(30),
        policy: Policy::new(3, Duration::from_secs(60)),
        max_response_size: 16 << 20,
    };
    Client::new(transport.clone(), cfg).expect("client")
}

/// Fetch every page of `object` (the full-scan plan, limit=100, starting_after chain) and extract
/// every column of every object, keeping the object itself as the `attrs` value like the FDW does.
pub fn scan(client: &Client, object: &str) -> Scan {
    let spec = stripe_fdw_core::objects::find(object).expect("known object");
    let p = plan(spec, &[], None);
    let Fetch::List(queries) = p.fetch else {
        panic!("a full scan plans list requests")
    };
    let mut pager = Pager::new(queries, p.first_page_limit);
    let (mut rows, mut requests) = (0u64, 0u64);
    let started = Instant::now();
    let never = || false;
    while let Some(params) = pager.next_request() {
        requests += 1;
        let page = client
            .list_page(spec.endpoint, &params, &never)
            .expect("list page");
        let last = page
            .data
            .last()
            .and_then(|o| o.get("id"))
            .and_then(Value::as_str)
            .map(str::to_string);
        pager.advance(last.as_deref(), page.has_more).expect("page");
        rows += extract_all(spec, page.data);
    }
    Scan {
        rows,
        requests,
        elapsed: started.elapsed(),
    }
}

/// The same full scan through core's `ListScan` with `max_concurrency` `workers` (1 = the page walk
/// above): pages arrive from up to that many requests at once, in any order.
pub fn list_scan(client: &Client, object: &str, workers: u32) -> (Scan, String) {
    let spec = stripe_fdw_core::objects::find(object).expect("known object");
    let p = plan(spec, &[], None);
    let Fetch::List(queries) = p.fetch else {
        panic!("a full scan plans list requests")
    };
    let started = Instant::now();
    let mut scan = ListScan::new(client, spec, queries, p.first_page_limit, workers);
    let mut rows = 0;
    while let Some(page) = scan.next_page(&|| false).expect("list page") {
        rows += extract_all(spec, page);
    }
    let s = Scan {
        rows,
        requests: scan.requests(),
        elapsed: started.elapsed(),
    };
    (s, scan.describe())
}

/// Extract every column of every object, keeping the object itself as `attrs`; returns the count.
fn extract_all(spec: &stripe_fdw_core::spec::ObjectSpec, page: Vec<Value>) -> u64 {
    let mut rows = 0;
    for obj in page {
        let mut cells: Vec<CellValue> = Vec::with_capacity(spec.columns.len());
        for col in spec.columns.iter().filter(|c| !c.path.is_empty()) {
            cells.push(extract(&obj, col).expect("extract"));
        }
        cells.push(CellValue::Json(obj));
        std::hint::black_box(&cells);
        rows += 1;
    }
    rows
}
