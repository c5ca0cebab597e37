//! Shared helpers of core's integration tests: a fake Stripe and a client configured for it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use fake_stripe::{Catalog, Config, FakeStripe, DEFAULT_API_KEY};
use serde_json::Value;
use std::time::Duration;
use stripe_fdw_core::client::retry::Policy;
use stripe_fdw_core::client::{Client, ClientConfig, ListScan, Transport};
use stripe_fdw_core::plan::{plan, Cond, Fetch, Plan};

pub fn fake(products: usize, prices_per_product: usize) -> FakeStripe {
    FakeStripe::start(Config {
        catalog: Catalog::Generated {
            products,
            prices_per_product,
            seed: 7,
        },
        ..Config::default()
    })
    .unwrap()
}

pub fn config(base_url: &str, key: &str) -> ClientConfig {
    ClientConfig {
        base_url: url::Url::parse(base_url).unwrap(),
        api_key: key.into(),
        api_version: None,
        account: None,
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(20),
        policy: Policy {
            base: Duration::from_millis(50),
            cap: Duration::from_millis(400),
            ..Policy::new(3, Duration::from_secs(60))
        },
        max_response_size: 16 << 20,
    }
}

pub fn client(transport: &Transport, fake: &FakeStripe) -> Client {
    Client::new(transport, config(&fake.base_url(), DEFAULT_API_KEY)).unwrap()
}

/// The plan of a scan of `object` with `conds` (no LIMIT).
pub fn planned(object: &str, conds: &[Cond]) -> Plan {
    plan(stripe_fdw_core::objects::find(object).unwrap(), conds, None)
}

pub fn scan(client: &Client, object: &str, p: &Plan, concurrency: u32) -> ListScan {
    let Fetch::List(queries) = &p.fetch else {
        panic!("a list plan: {:?}", p.fetch)
    };
    let spec = stripe_fdw_core::objects::find(object).unwrap();
    ListScan::new(
        client,
        spec,
        queries.clone(),
        p.first_page_limit,
        concurrency,
    )
}

/// Every id the scan returns, in the order returned.
pub fn drain(s: &mut ListScan) -> Vec<String> {
    let mut ids = Vec::new();
    while let Some(page) = s.next_page(&|| false).unwrap() {
        ids.extend(page.iter().map(id));
    }
    ids
}

pub fn id(o: &Value) -> String {
    o["id"].as_str().unwrap().to_string()
}
