//! fake_stripe: an in-memory, strict fake of Stripe's products and prices API for tests.
//!
//! Start it in-process with [`FakeStripe::start`]; it serves on 127.0.0.1 from a background
//! thread with its own tokio runtime and shuts down when dropped.

pub mod auth;
pub mod control;
pub mod errors;
pub mod faults;
pub mod fields;
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
pub mod server;
pub mod state;
pub mod store;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tokio::sync::watch;

pub use faults::{FaultConfig, FaultKind, FaultRule};
pub use log::LogEntry;

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
            log: Mutex::new(Vec::new()),
            api_keys: config.api_keys,
            catalog: config.catalog,
        });
        let (tx, rx) = watch::channel(false);
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
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

    /// Replace the fault configuration (counters restart).
    pub fn set_faults(&self, config: FaultConfig) {
        lock(&self.shared.faults).set(config);
    }

    pub fn clear_faults(&self) {
        lock(&self.shared.faults).set(FaultConfig::default());
    }

    /// Replace the catalog (log and faults are cleared too).
    pub fn reset(&self, catalog: &Catalog) -> std::io::Result<()> {
        let state = seed::build(catalog)?;
        *lock(&self.shared.state) = state;
        self.clear_log();
        self.clear_faults();
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

    /// (products, prices) currently stored.
    pub fn counts(&self) -> (usize, usize) {
        let st = lock(&self.shared.state);
        (st.products.len(), st.prices.len())
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
