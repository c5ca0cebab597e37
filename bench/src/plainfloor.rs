//! The plain floor (issue 21): the simplest fast client, blocking reqwest with keep-alive and
//! serde_json into typed structs, paging a list endpoint; no stripe_fdw code, no Postgres.

use serde::Deserialize;
use std::time::{Duration, Instant};

/// What a floor scan reads of each object: nothing, a few typed columns, or the whole object.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Read {
    Count,
    Columns,
    Attrs,
}

#[derive(Deserialize)]
struct Page<T> {
    data: Vec<T>,
    has_more: bool,
}

/// Only the id (the cursor): what `count(*)` needs.
#[derive(Deserialize)]
struct Bare {
    id: String,
}

/// The few columns the bench's column queries read (products and prices share the struct: the
/// fields one object lacks are absent and stay None).
#[derive(Deserialize)]
#[allow(dead_code)]
struct Cols {
    id: String,
    name: Option<String>,
    active: Option<bool>,
    product: Option<String>,
    unit_amount: Option<i64>,
    created: i64,
}

pub struct Floor {
    http: reqwest::blocking::Client,
    base: String,
    key: String,
}

impl Floor {
    /// `gzip`: send `Accept-Encoding: gzip` (reqwest's default with the feature) or not.
    pub fn new(base: &str, key: &str, gzip: bool) -> Floor {
        let mut b = reqwest::blocking::Client::builder().timeout(Duration::from_secs(60));
        if !gzip {
            b = b.no_gzip();
        }
        Floor {
            http: b.build().expect("floor client"),
            base: base.trim_end_matches('/').to_string(),
            key: key.to_string(),
        }
    }

    fn page<T: for<'de> Deserialize<'de>>(&self, object: &str, after: Option<&str>) -> Page<T> {
        let mut req = self
            .http
            .get(format!("{}/{object}", self.base))
            .bearer_auth(&self.key)
            .query(&[("limit", "100")]);
        if let Some(a) = after {
            req = req.query(&[("starting_after", a)]);
        }
        let body = req
            .send()
            .and_then(|r| r.error_for_status())
            .and_then(|r| r.bytes())
            .expect("floor page");
        serde_json::from_slice(&body).expect("floor page body")
    }

    fn walk<T: for<'de> Deserialize<'de>>(&self, object: &str, id: impl Fn(&T) -> String) -> u64 {
        let (mut rows, mut after) = (0u64, None::<String>);
        loop {
            let page: Page<T> = self.page(object, after.as_deref());
            rows += page.data.len() as u64;
            after = page.data.last().map(&id);
            std::hint::black_box(&page.data);
            if !page.has_more || after.is_none() {
                return rows;
            }
        }
    }

    /// Every page of `object` (`limit=100`, `starting_after` chain); rows and wall time.
    pub fn scan(&self, object: &str, read: Read) -> (u64, Duration) {
        let started = Instant::now();
        let rows = match read {
            Read::Count => self.walk(object, |o: &Bare| o.id.clone()),
            Read::Columns => self.walk(object, |o: &Cols| o.id.clone()),
            Read::Attrs => self.walk(object, |o: &serde_json::Value| {
                o.get("id")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            }),
        };
        (rows, started.elapsed())
    }
}
