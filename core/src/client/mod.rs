//! The only code that speaks HTTP: auth, Stripe headers, timeouts, retries, size cap, cancel.
//!
//! Requests run on the transport's worker threads (which block every signal); the calling
//! (Postgres) thread only waits for them, polling `interrupted` so a query cancel ends the wait.

mod concurrent;
pub mod fields;
pub mod pages;
mod request;
pub mod retry;
pub mod scan;
pub mod slices;
mod transport;

pub(crate) use request::Backoff;
pub use request::Form;
pub use scan::ListScan;
pub use transport::Transport;

use crate::error::StripeError;
use request::Requester;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, USER_AGENT};
use retry::Policy;
use serde::Deserialize;
use serde_json::Value;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use transport::Io;
use url::Url;

pub const USER_AGENT_VALUE: &str = concat!("stripe_fdw/", env!("CARGO_PKG_VERSION"));

/// How often a wait on Stripe looks for a query cancel.
pub(crate) const INTERRUPT_POLL: Duration = Duration::from_millis(20);

/// Everything one request needs to know, from the server and user mapping options.
#[derive(Clone)]
pub struct ClientConfig {
    pub base_url: Url,
    pub api_key: String,
    pub api_version: Option<String>,
    pub account: Option<String>,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub policy: Policy,
    pub max_response_size: u64,
}

impl ClientConfig {
    /// The configuration a server's options give, with the key found for the reading role.
    pub fn from_options(opts: &crate::options::ServerOptions, api_key: String) -> Self {
        ClientConfig {
            base_url: opts.api_url.clone(),
            api_key,
            api_version: opts.api_version.clone(),
            account: opts.account.clone(),
            connect_timeout: opts.connect_timeout,
            request_timeout: opts.request_timeout,
            policy: Policy::new(opts.max_retries, opts.retry_deadline),
            max_response_size: opts.max_response_size,
        }
    }
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url.as_str())
            .field("api_key", &"[redacted]")
            .field("api_version", &self.api_version)
            .field("account", &self.account)
            .finish()
    }
}

/// One page of a list: `{"object": "list", "data": [...], "has_more": bool}`.
#[derive(Debug, Deserialize)]
pub struct ListPage {
    pub object: String,
    pub data: Vec<Value>,
    pub has_more: bool,
}

/// A Stripe client on a shared transport. Every call blocks the calling (Postgres) thread, and
/// `interrupted` is polled while waiting so a query cancel ends the wait within ~20 ms.
/// Cloning is cheap (two `Arc`s); what the worker threads use is `Send`.
#[derive(Clone)]
pub struct Client {
    io: Arc<Io>,
    req: Arc<Requester>,
}

impl Client {
    /// `transport` may be a `&Transport`, an `Rc<Transport>` or an `Arc<Transport>`.
    pub fn new(transport: impl AsRef<Transport>, cfg: ClientConfig) -> Result<Self, StripeError> {
        let bad_header = |what: &str| StripeError::BadBody {
            reason: format!("the {what} contains characters not allowed in an HTTP header"),
            request_id: None,
        };
        let mut headers = HeaderMap::new();
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", cfg.api_key))
            .map_err(|_| bad_header("API key"))?;
        auth.set_sensitive(true);
        headers.insert(AUTHORIZATION, auth);
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(v) = &cfg.api_version {
            headers.insert(
                "Stripe-Version",
                HeaderValue::from_str(v).map_err(|_| bad_header("api_version"))?,
            );
        }
        if let Some(a) = &cfg.account {
            headers.insert(
                "Stripe-Account",
                HeaderValue::from_str(a).map_err(|_| bad_header("account"))?,
            );
        }
        let io = transport.as_ref().io.clone();
        Ok(Client {
            req: Arc::new(Requester {
                http: io.http.clone(),
                cfg,
                headers,
                keep: None,
            }),
            io,
        })
    }

    /// The same client, whose list pages keep only these top-level fields of each object (with
    /// `fields::ALWAYS`); `None` keeps whole objects. Retrieves are not affected.
    pub fn keeping(&self, fields: Option<Vec<String>>) -> Client {
        let keep = fields.map(|mut f| {
            f.extend(fields::ALWAYS.iter().map(|s| s.to_string()));
            f.sort();
            f.dedup();
            Arc::from(f)
        });
        let mut req = (*self.req).clone();
        req.keep = keep;
        Client {
            io: self.io.clone(),
            req: Arc::new(req),
        }
    }

    pub(crate) fn url(&self, segments: &[&str], params: &[(String, String)]) -> Url {
        request_url(&self.req.cfg.base_url, segments, params)
    }

    /// `GET <endpoint>?params`: one page of a list.
    pub fn list_page(
        &self,
        endpoint: &str,
        params: &[(String, String)],
        interrupted: &dyn Fn() -> bool,
    ) -> Result<ListPage, StripeError> {
        let url = self.url(&[endpoint], params);
        let req = self.req.clone();
        self.run(
            async move { req.list_page(url, &Backoff::default()).await },
            interrupted,
        )
    }

    /// `GET <endpoint>/<id>`: one object, or `None` when Stripe says it does not exist.
    pub fn retrieve(
        &self,
        endpoint: &str,
        id: &str,
        interrupted: &dyn Fn() -> bool,
    ) -> Result<Option<Value>, StripeError> {
        let url = self.url(&[endpoint, id], &[]);
        let req = self.req.clone();
        self.run(
            async move { req.retrieve(url, &Backoff::default()).await },
            interrupted,
        )
    }

    /// `GET <segments...>` as one object (e.g. `["account"]`); a 404 is an error like any other.
    pub fn get_object(
        &self,
        segments: &[&str],
        interrupted: &dyn Fn() -> bool,
    ) -> Result<Value, StripeError> {
        let url = self.url(segments, &[]);
        let req = self.req.clone();
        self.run(
            async move { req.object(url, None, &Backoff::default()).await },
            interrupted,
        )
    }

    /// `POST <segments...>` with a form (e.g. a create): the object Stripe answers.
    pub fn post(
        &self,
        segments: &[&str],
        form: Form,
        interrupted: &dyn Fn() -> bool,
    ) -> Result<Value, StripeError> {
        let url = self.url(segments, &[]);
        let req = self.req.clone();
        self.run(
            async move { req.object(url, Some(form), &Backoff::default()).await },
            interrupted,
        )
    }

    /// Run `work` on a worker thread and wait for it here, polling `interrupted`; a cancel aborts it.
    fn run<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T, StripeError>> + Send + 'static,
        interrupted: &dyn Fn() -> bool,
    ) -> Result<T, StripeError> {
        let mut task = self.io.rt.spawn(work);
        let r = self.wait(&mut task, interrupted);
        task.abort();
        r.and_then(|joined| joined.map_err(lost_task)?)
    }

    /// Block on `fut` (which must only wait on the workers), polling `interrupted` every ~20 ms.
    pub(crate) fn wait<F: Future>(
        &self,
        fut: F,
        interrupted: &dyn Fn() -> bool,
    ) -> Result<F::Output, StripeError> {
        let watch = async {
            loop {
                if interrupted() {
                    return;
                }
                tokio::time::sleep(INTERRUPT_POLL).await;
            }
        };
        self.io.rt.block_on(async {
            tokio::select! {
                biased;
                _ = watch => Err(StripeError::Cancelled),
                r = fut => Ok(r),
            }
        })
    }

    pub(crate) fn requester(&self) -> Arc<Requester> {
        self.req.clone()
    }

    pub(crate) fn handle(&self) -> &tokio::runtime::Handle {
        self.io.rt.handle()
    }
}

/// The URL of a request: `segments` percent-encoded below the base URL's path, then `params`. The
/// first segment is an endpoint from an object spec, whose `/` separate path segments
/// (`checkout/sessions`); the others (ids) are one segment each. EXPLAIN shows what this returns,
/// so it shows exactly what is sent.
pub fn request_url(base: &Url, segments: &[&str], params: &[(String, String)]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        let (endpoint, rest) = segments
            .split_first()
            .map_or((None, segments), |(e, r)| (Some(*e), r));
        path.pop_if_empty()
            .extend(endpoint.into_iter().flat_map(|e| e.split('/')))
            .extend(rest);
    }
    if !params.is_empty() {
        url.query_pairs_mut().extend_pairs(params);
    }
    url
}

/// A request task that panicked or was aborted (neither should happen outside a cancel).
pub(crate) fn lost_task(e: tokio::task::JoinError) -> StripeError {
    StripeError::Transport {
        host: "-".into(),
        reason: format!("the request task ended early: {e}"),
        attempts: 0,
    }
}
