//! The only code that speaks HTTP: auth, Stripe headers, timeouts, retries, size cap, cancel.

pub mod pages;
pub mod retry;

use crate::error::{scrub_secrets, ApiError, StripeError, TimeoutKind};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, USER_AGENT};
use retry::{decide, Decision, Outcome, Policy};
use serde::Deserialize;
use serde_json::Value;
use std::rc::Rc;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;
use url::Url;

pub const USER_AGENT_VALUE: &str = concat!("stripe_fdw/", env!("CARGO_PKG_VERSION"));

/// How often a wait on Stripe looks for a query cancel.
const INTERRUPT_POLL: Duration = Duration::from_millis(20);

/// A tokio runtime and a connection pool, kept for the life of a backend so connections are reused.
pub struct Transport {
    rt: Runtime,
    http: reqwest::Client,
}

impl Transport {
    pub fn new(connect_timeout: Duration) -> Result<Self, StripeError> {
        let setup = |reason: String| StripeError::Transport {
            host: "-".into(),
            reason,
            attempts: 0,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| setup(format!("cannot start the I/O runtime: {e}")))?;
        let http = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .pool_idle_timeout(Duration::from_secs(50))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| setup(format!("cannot build the HTTP client: {e}")))?;
        Ok(Transport { rt, http })
    }
}

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
pub struct Client {
    transport: Rc<Transport>,
    cfg: ClientConfig,
    headers: HeaderMap,
}

/// Why one attempt failed, before the retry decision.
enum AttemptError {
    Status {
        status: u16,
        headers: HeaderMap,
        body: Vec<u8>,
    },
    Http(reqwest::Error),
    TooLarge {
        request_id: Option<String>,
    },
}

impl Client {
    pub fn new(transport: Rc<Transport>, cfg: ClientConfig) -> Result<Self, StripeError> {
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
        Ok(Client {
            transport,
            cfg,
            headers,
        })
    }

    fn url(&self, segments: &[&str], params: &[(String, String)]) -> Url {
        request_url(&self.cfg.base_url, segments, params)
    }

    /// `GET <endpoint>?params`: one page of a list.
    pub fn list_page(
        &self,
        endpoint: &str,
        params: &[(String, String)],
        interrupted: &dyn Fn() -> bool,
    ) -> Result<ListPage, StripeError> {
        let (body, request_id) = self.get(self.url(&[endpoint], params), interrupted)?;
        let page: ListPage = serde_json::from_slice(&body).map_err(|e| StripeError::BadBody {
            reason: format!("expected a list object: {e}"),
            request_id: request_id.clone(),
        })?;
        if page.object != "list" {
            return Err(StripeError::BadBody {
                reason: format!("expected \"object\": \"list\", got \"{}\"", page.object),
                request_id,
            });
        }
        Ok(page)
    }

    /// `GET <endpoint>/<id>`: one object, or `None` when Stripe says it does not exist.
    pub fn retrieve(
        &self,
        endpoint: &str,
        id: &str,
        interrupted: &dyn Fn() -> bool,
    ) -> Result<Option<Value>, StripeError> {
        match self.get(self.url(&[endpoint, id], &[]), interrupted) {
            Ok((body, request_id)) => {
                let v: Value = serde_json::from_slice(&body).map_err(|e| StripeError::BadBody {
                    reason: format!("expected an object: {e}"),
                    request_id: request_id.clone(),
                })?;
                if !v.is_object() || v.get("deleted").and_then(Value::as_bool) == Some(true) {
                    return if v.is_object() {
                        Ok(None)
                    } else {
                        Err(StripeError::BadBody {
                            reason: "expected a JSON object".into(),
                            request_id,
                        })
                    };
                }
                Ok(Some(v))
            }
            Err(StripeError::Api {
                status: 404, error, ..
            }) if error.code.as_deref() == Some("resource_missing") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A GET with retries, returning the body and the `Request-Id`.
    fn get(
        &self,
        url: Url,
        interrupted: &dyn Fn() -> bool,
    ) -> Result<(Vec<u8>, Option<String>), StripeError> {
        let work = self.get_with_retries(url);
        let watch = async {
            loop {
                if interrupted() {
                    return;
                }
                tokio::time::sleep(INTERRUPT_POLL).await;
            }
        };
        self.transport.rt.block_on(async {
            tokio::select! {
                biased;
                _ = watch => Err(StripeError::Cancelled),
                r = work => r,
            }
        })
    }

    async fn get_with_retries(&self, url: Url) -> Result<(Vec<u8>, Option<String>), StripeError> {
        let started = Instant::now();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let err = match self.attempt(url.clone()).await {
                Ok(ok) => return Ok(ok),
                Err(e) => e,
            };
            let outcome = match &err {
                AttemptError::Status {
                    status, headers, ..
                } => Outcome::Status {
                    status: *status,
                    should_retry: header(headers, "stripe-should-retry").and_then(|v| {
                        match v.as_str() {
                            "true" => Some(true),
                            "false" => Some(false),
                            _ => None,
                        }
                    }),
                    retry_after: header(headers, "retry-after")
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs),
                },
                AttemptError::Http(_) => Outcome::Transport,
                AttemptError::TooLarge { request_id } => {
                    return Err(StripeError::TooLarge {
                        limit: self.cfg.max_response_size,
                        request_id: request_id.clone(),
                    })
                }
            };
            match decide(
                &self.cfg.policy,
                attempt,
                outcome,
                started.elapsed(),
                rand::random::<f64>(),
            ) {
                Decision::Retry(wait) => tokio::time::sleep(wait).await,
                Decision::GiveUp(_) => return Err(self.final_error(err, attempt)),
            }
        }
    }

    async fn attempt(&self, url: Url) -> Result<(Vec<u8>, Option<String>), AttemptError> {
        let mut resp = self
            .transport
            .http
            .get(url)
            .headers(self.headers.clone())
            .timeout(self.cfg.request_timeout)
            .send()
            .await
            .map_err(AttemptError::Http)?;
        let status = resp.status().as_u16();
        let request_id = header(resp.headers(), "request-id");
        let cap = self.cfg.max_response_size;
        if resp.content_length().is_some_and(|n| n > cap) {
            return Err(AttemptError::TooLarge { request_id });
        }
        let mut body = Vec::with_capacity(resp.content_length().unwrap_or(0).min(cap) as usize);
        while let Some(chunk) = resp.chunk().await.map_err(AttemptError::Http)? {
            if body.len() as u64 + chunk.len() as u64 > cap {
                return Err(AttemptError::TooLarge { request_id });
            }
            body.extend_from_slice(&chunk);
        }
        if (200..300).contains(&status) {
            Ok((body, request_id))
        } else {
            Err(AttemptError::Status {
                status,
                headers: resp.headers().clone(),
                body,
            })
        }
    }

    fn final_error(&self, err: AttemptError, attempts: u32) -> StripeError {
        match err {
            AttemptError::Status {
                status,
                headers,
                body,
            } => {
                #[derive(Deserialize)]
                struct Body {
                    error: ApiError,
                }
                let mut error = serde_json::from_slice::<Body>(&body)
                    .map(|b| b.error)
                    .unwrap_or_else(|_| ApiError {
                        message: Some(format!(
                            "Stripe answered HTTP {status} with a body that is not a Stripe error"
                        )),
                        ..ApiError::default()
                    });
                error.message = error.message.map(|m| scrub_secrets(&m, &self.cfg.api_key));
                StripeError::Api {
                    status,
                    error: Box::new(error),
                    request_id: header(&headers, "request-id"),
                    attempts,
                }
            }
            AttemptError::TooLarge { request_id } => StripeError::TooLarge {
                limit: self.cfg.max_response_size,
                request_id,
            },
            AttemptError::Http(e) => {
                if e.is_timeout() {
                    let (kind, limit) = if e.is_connect() {
                        (TimeoutKind::Connect, self.cfg.connect_timeout)
                    } else {
                        (TimeoutKind::Request, self.cfg.request_timeout)
                    };
                    StripeError::Timeout {
                        kind,
                        limit,
                        attempts,
                    }
                } else {
                    StripeError::Transport {
                        host: self.cfg.base_url.host_str().unwrap_or("-").to_string(),
                        reason: scrub_secrets(&error_chain(&e), &self.cfg.api_key),
                        attempts,
                    }
                }
            }
        }
    }
}

/// The URL of a request: `segments` percent-encoded below the base URL's path, then `params`.
/// EXPLAIN shows what this returns, so it shows exactly what is sent.
pub fn request_url(base: &Url, segments: &[&str], params: &[(String, String)]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    if !params.is_empty() {
        url.query_pairs_mut().extend_pairs(params);
    }
    url
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The error and its causes, without the URL (which reqwest puts in the top-level message).
fn error_chain(e: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    if parts.is_empty() {
        parts.push(e.without_url_ref().to_string());
    }
    parts.join(": ")
}

trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let s = self.to_string();
        match self.url() {
            Some(u) => s.replace(u.as_str(), "<url>"),
            None => s,
        }
    }
}
