//! fake_stripe: an in-memory, strict fake of Stripe's products, prices and events API for tests.
//!
//! Start it in-process with [`FakeStripe::start`]; it serves on 127.0.0.1 from a background
//! thread with its own tokio runtime and shuts down when dropped.

pub mod auth;
pub mod checkout;
pub mod control;
pub mod docs;
pub mod endpoints;
pub mod errors;
pub mod events;
pub mod events_api;
pub mod faults;
pub mod fields;
pub mod holds;
pub mod http;
pub mod ids;
pub mod list;
pub mod log;
pub mod model;
pub mod params;
pub mod prices;
pub mod products;
pub mod router;
pub mod seed;
pub mod seed_docs;
pub mod server;
pub mod state;
pub mod store;
pub mod subscriptions;
pub mod webhooks;
pub mod writes;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::watch;

pub use faults::{FaultConfig, FaultKind, FaultRule};
pub use holds::{HoldRule, HoldWhen};
pub use log::LogEntry;
pub use state::ACCOUNT_ID;

use server::{lock, Shared};

/// The API key accepted by [`Config::default`].
pub const DEFAULT_API_KEY: &str = "sk_test_fake_key";

/// The initial data set.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Catalog {
    #[default]
    Empty,
    /// A small SaaS catalog: Hobby / Pro / Team plus an archived Legacy plan.
    Demo,
    /// `products` products with `prices_per_product` prices each, deterministic for `seed`.
    Generated {
        products: usize,
        prices_per_product: usize,
        seed: u64,
    },
    /// `{"products":[...], "prices":[...]}` with full Stripe objects.
    File(PathBuf),
}

#[derive(Debug, Clone)]
pub struct Config {
    /// 0 = any free port.
    pub port: u16,
    /// Accepted secret keys.
    pub api_keys: Vec<String>,
    pub catalog: Catalog,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 0,
            api_keys: vec![DEFAULT_API_KEY.to_string()],
            catalog: Catalog::Empty,
        }
    }
}

/// A running fake Stripe server; dropping it shuts the server down.
pub struct FakeStripe {
    addr: SocketAddr,
    shared: Arc<Shared>,
    runtime: tokio::runtime::Handle,
    shutdown: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeStripe {
    /// Start on 127.0.0.1:`config.port` (0 = free port).
    pub fn start(config: Config) -> std::io::Result<FakeStripe> {
        Self::start_on(IpAddr::V4(Ipv4Addr::LOCALHOST), config)
    }

    /// Start on `host`:`config.port`.
    pub fn start_on(host: IpAddr, config: Config) -> std::io::Result<FakeStripe> {
        let state = seed::build(&config.catalog)?;
        let listener = std::net::TcpListener::bind(SocketAddr::new(host, config.port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fake-stripe")
            .enable_all()
            .build()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            faults: Mutex::new(faults::Faults::default()),
            holds: Mutex::new(holds::Holds::default()),
            log: Mutex::new(Vec::new()),
            bytes_sent: AtomicU64::new(0),
            api_keys: config.api_keys,
            catalog: config.catalog,
        });
        let (tx, rx) = watch::channel(false);
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let handle = runtime.handle().clone();
        let for_thread = shared.clone();
        let thread = std::thread::Builder::new()
            .name("fake-stripe-main".into())
            .spawn(move || {
                runtime.block_on(server::serve(listener, for_thread, rx));
                runtime.shutdown_timeout(std::time::Duration::from_millis(200));
            })?;
        Ok(FakeStripe {
            addr,
            shared,
            runtime: handle,
            shutdown: tx,
            thread: Some(thread),
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT/v1`
    pub fn base_url(&self) -> String {
        format!("http://{}:{}/v1", self.addr.ip(), self.addr.port())
    }

    /// `http://127.0.0.1:PORT` (where the `/__` control endpoints live).
    pub fn root_url(&self) -> String {
        format!("http://{}:{}", self.addr.ip(), self.addr.port())
    }

    /// Every `/v1` request served so far, in order.
    pub fn log(&self) -> Vec<LogEntry> {
        lock(&self.shared.log).clone()
    }

    pub fn clear_log(&self) {
        lock(&self.shared.log).clear();
    }

    /// Bytes written to clients (response heads and bodies, compressed when sent so) since the
    /// start or the last `clear_bytes_sent`.
    pub fn bytes_sent(&self) -> u64 {
        self.shared.bytes_sent.load(Ordering::Relaxed)
    }

    pub fn clear_bytes_sent(&self) {
        self.shared.bytes_sent.store(0, Ordering::Relaxed);
    }

    /// Replace the fault configuration (counters restart).
    pub fn set_faults(&self, config: FaultConfig) {
        lock(&self.shared.faults).set(config);
    }

    pub fn clear_faults(&self) {
        lock(&self.shared.faults).set(FaultConfig::default());
    }

    /// Replace the catalog (log, faults and holds are cleared too; parked requests are released).
    pub fn reset(&self, catalog: &Catalog) -> std::io::Result<()> {
        let state = seed::build(catalog)?;
        *lock(&self.shared.state) = state;
        self.clear_log();
        self.clear_faults();
        self.clear_holds();
        Ok(())
    }

    /// Create a product named `name` as `POST /v1/products` would (for tests that change the data
    /// while a scan runs); returns its id.
    pub fn create_product(&self, name: &str) -> Result<String, String> {
        let params = params::Params::parse(&[("name".to_string(), name.to_string())])
            .map_err(|e| e.message)?;
        let created =
            products::create(&mut lock(&self.shared.state), params).map_err(|e| e.message)?;
        created
            .get("id")
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .ok_or_else(|| "the created product has no id".to_string())
    }

    /// Complete Checkout Session `id` as a paying customer would (see [`checkout::complete`]):
    /// the events Stripe sends are recorded; returns the session as it is now.
    pub fn complete_checkout(&self, id: &str) -> Result<serde_json::Value, String> {
        control::complete_checkout(&self.shared, id).map_err(|e| e.message)
    }

    /// (products, prices) currently stored.
    pub fn counts(&self) -> (usize, usize) {
        let st = lock(&self.shared.state);
        (st.products.len(), st.prices.len())
    }
}

impl FakeStripe {
    /// Every stored event, newest first, as `GET /v1/events` shows them (including those past the
    /// 30-day retention, which the API no longer serves).
    pub fn events(&self) -> Vec<serde_json::Value> {
        let st = lock(&self.shared.state);
        st.events
            .iter()
            .rev()
            .map(|e| serde_json::to_value(e).unwrap_or_default())
            .collect()
    }

    /// Move every existing event `seconds` into the past (for the retention and catch-up tests).
    pub fn age_events(&self, seconds: i64) {
        lock(&self.shared.state).age_events(seconds);
    }

    /// The raw body and `Stripe-Signature` header Stripe would POST for `event_id`, signed with
    /// `secret` at `timestamp` (default now), without sending it: pass them to
    /// `stripe_fdw.handle_webhook(payload, header)`. `None` when there is no such event.
    pub fn webhook(
        &self,
        event_id: &str,
        secret: &str,
        timestamp: Option<i64>,
    ) -> Option<(String, String)> {
        webhooks::signed(&self.shared, event_id, secret, timestamp)
    }

    /// The raw body and `Stripe-Signature` header Stripe would POST for `event_id` to webhook
    /// endpoint `endpoint_id`, signed with the secret the fake issued for it. `Err` when there is no
    /// such event or endpoint, or the endpoint is not subscribed to the event's type.
    pub fn webhook_to(
        &self,
        event_id: &str,
        endpoint_id: &str,
    ) -> Result<(String, String), String> {
        webhooks::signed_for(&self.shared, event_id, endpoint_id)
    }

    /// The signing secret the fake issued for webhook endpoint `id` (for tests that sign a payload
    /// of their own, as Stripe would for that endpoint).
    pub fn endpoint_secret(&self, id: &str) -> Option<String> {
        lock(&self.shared.state).endpoint_secrets.get(id).cloned()
    }

    /// Every webhook endpoint, newest first, as `GET /v1/webhook_endpoints` lists them.
    pub fn endpoints(&self) -> Vec<serde_json::Value> {
        let st = lock(&self.shared.state);
        st.endpoints
            .iter()
            .rev()
            .map(|e| serde_json::to_value(e).unwrap_or_default())
            .collect()
    }

    /// Deliver `event_id` to `url` as Stripe does (POST, signed with `secret` at `timestamp`,
    /// default now) and return the HTTP status the URL answered; `Err` when it could not be
    /// reached or there is no such event. Works from sync and async callers alike.
    pub fn send_webhook(
        &self,
        event_id: &str,
        url: &str,
        secret: &str,
        timestamp: Option<i64>,
    ) -> Result<u16, String> {
        let (tx, rx) = std::sync::mpsc::channel();
        let shared = self.shared.clone();
        let (event_id, url, secret) = (event_id.to_string(), url.to_string(), secret.to_string());
        self.runtime.spawn(async move {
            let r = webhooks::deliver(&shared, &event_id, &url, &secret, timestamp).await;
            let _ = tx.send(r);
        });
        rx.recv()
            .map_err(|_| "the fake's runtime stopped before the delivery finished".to_string())?
    }
}

/// Holds: park `/v1` requests until released (see [`holds`]), as `/__holds` does over HTTP.
impl FakeStripe {
    /// Add a hold rule (after the rules already installed).
    pub fn hold(&self, rule: HoldRule) {
        lock(&self.shared.holds).add(rule);
    }

    /// How many requests are parked right now.
    pub fn held(&self) -> usize {
        lock(&self.shared.holds).waiting()
    }

    /// Poll (blocking this thread) until at least `n` requests are parked; false on timeout.
    pub fn wait_held(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.held() >= n {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Release the `count` oldest parked requests (all when `None`); returns how many.
    pub fn release(&self, count: Option<usize>) -> usize {
        lock(&self.shared.holds).release(count)
    }

    /// Remove every hold rule and release every parked request.
    pub fn clear_holds(&self) {
        lock(&self.shared.holds).clear();
    }
}

impl Drop for FakeStripe {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
