//! The mutable catalog: product and price tables, the lookup-key index and id/time allocation.

use std::collections::{HashMap, HashSet};

use crate::docs::Docs;
use crate::endpoints::WebhookEndpoint;
use crate::events::{Change, Event};
use crate::ids::{fresh_seed, make_id, now_unix, SplitMix, PRICE_ID_LEN, PRODUCT_ID_LEN};
use crate::model::{Price, Product};
use crate::store::Table;

/// The account the fake's keys belong to.
pub const ACCOUNT_ID: &str = "acct_1FakeStripeE2e00";

#[derive(Debug, Clone)]
pub struct State {
    pub products: Table<Product>,
    pub prices: Table<Price>,
    /// lookup_key -> price id
    pub lookup: HashMap<String, String>,
    /// Events recorded by changes made through the API, oldest first.
    pub events: Table<Event>,
    /// Changes noted by the request being handled (see [`crate::events::commit`]).
    pub changes: Vec<Change>,
    /// Webhook endpoints, and the signing secret of each (shown only by the create).
    pub endpoints: Table<WebhookEndpoint>,
    pub endpoint_secrets: HashMap<String, String>,
    /// The id of the account every key of this fake belongs to (`GET /v1/account`).
    pub account_id: String,
    /// Customers, subscriptions, invoices and the other objects beyond the catalog, by endpoint.
    pub docs: Docs,
    /// Ids of deleted customers (retrieved as the deletion stub).
    pub deleted: HashSet<String>,
    rng: SplitMix,
    /// Event ids: seeded per server (see [`fresh_seed`]).
    pub(crate) event_rng: SplitMix,
}

impl Default for State {
    fn default() -> Self {
        State {
            products: Table::default(),
            prices: Table::default(),
            lookup: HashMap::new(),
            events: Table::default(),
            changes: Vec::new(),
            endpoints: Table::default(),
            endpoint_secrets: HashMap::new(),
            account_id: ACCOUNT_ID.to_string(),
            docs: Docs::new(),
            deleted: HashSet::new(),
            rng: SplitMix(0xFA4E_5791_9E00),
            event_rng: SplitMix(fresh_seed()),
        }
    }
}

impl State {
    /// Build from objects (in insertion order); fails on duplicate ids, lookup keys or dangling prices.
    pub fn from_objects(products: Vec<Product>, prices: Vec<Price>) -> Result<State, String> {
        let products = Table::from_vec(products)?;
        let prices = Table::from_vec(prices)?;
        let mut lookup = HashMap::new();
        for p in prices.iter() {
            if !products.contains(&p.product) {
                return Err(format!(
                    "price {} refers to unknown product {}",
                    p.id, p.product
                ));
            }
            if let Some(k) = &p.lookup_key {
                if lookup.insert(k.clone(), p.id.clone()).is_some() {
                    return Err(format!("duplicate lookup_key {k}"));
                }
            }
        }
        let seed = (products.len() as u64) << 32 ^ prices.len() as u64;
        Ok(State {
            products,
            prices,
            lookup,
            events: Table::default(),
            changes: Vec::new(),
            endpoints: Table::default(),
            endpoint_secrets: HashMap::new(),
            account_id: ACCOUNT_ID.to_string(),
            docs: Docs::new(),
            deleted: HashSet::new(),
            rng: SplitMix(0xFA4E_5791_9E00 ^ seed),
            event_rng: SplitMix(fresh_seed()),
        })
    }

    /// `created` for a new object: now, but strictly after every existing object.
    pub fn next_created(&self) -> i64 {
        let newest = self
            .products
            .max_created()
            .into_iter()
            .chain(self.prices.max_created())
            .max();
        match newest {
            Some(m) => now_unix().max(m + 1),
            None => now_unix(),
        }
    }

    pub fn new_product_id(&mut self) -> String {
        loop {
            let id = make_id(&mut self.rng, "prod_", PRODUCT_ID_LEN);
            if !self.products.contains(&id) {
                return id;
            }
        }
    }

    pub fn new_price_id(&mut self) -> String {
        loop {
            let id = make_id(&mut self.rng, "price_", PRICE_ID_LEN);
            if !self.prices.contains(&id) {
                return id;
            }
        }
    }

    /// A fresh id for a new document of `endpoint` (Stripe's prefix and 24 characters).
    pub fn new_doc_id(&mut self, endpoint: &str) -> String {
        let prefix = crate::docs::KINDS
            .iter()
            .find(|(ep, _, _)| *ep == endpoint)
            .map_or("obj_", |(_, _, p)| p);
        loop {
            let id = make_id(&mut self.rng, prefix, 24);
            if !self.docs.get(endpoint).is_some_and(|t| t.contains(&id)) {
                return id;
            }
        }
    }

    /// `created` for a new document of `endpoint`: now, and not before any other of its kind.
    pub fn doc_created(&self, endpoint: &str) -> i64 {
        let newest = self.docs.get(endpoint).and_then(|t| t.max_created());
        now_unix().max(newest.unwrap_or(i64::MIN))
    }

    pub fn doc(&self, endpoint: &str, id: &str) -> Option<&serde_json::Value> {
        self.docs.get(endpoint)?.get(id).map(|d| &d.value)
    }

    /// Replace a stored document's value (its id and `created` unchanged).
    pub fn put_doc(&mut self, endpoint: &str, value: serde_json::Value) {
        let id = value["id"].as_str().unwrap_or("").to_string();
        if let Some(d) = self.docs.get_mut(endpoint).and_then(|t| t.get_mut(&id)) {
            d.value = value;
        }
    }

    pub fn product_has_prices(&self, product_id: &str) -> bool {
        self.prices.iter().any(|p| p.product == product_id)
    }
}
