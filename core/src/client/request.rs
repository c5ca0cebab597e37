//! One request with retries, run on a worker thread: attempts, the shared backoff, the error it ends
//! with. GETs, and form-encoded POSTs (retried under one Idempotency-Key, as Stripe's libraries do).

use super::fields::parse_page;
use super::retry::{decide, Decision, Outcome};
use super::{ClientConfig, ListPage};
use crate::error::{ApiError, StripeError, TimeoutKind};
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::Value;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use url::Url;

/// A POST's form fields, and the Idempotency-Key every attempt of it carries (a retry after a lost
/// answer then makes nothing twice).
#[derive(Clone)]
pub struct Form {
    pub fields: Vec<(String, String)>,
    pub idempotency_key: String,
}

impl Form {
    /// The fields with a fresh random Idempotency-Key.
    pub fn new(fields: Vec<(String, String)>) -> Form {
        Form {
            fields,
            idempotency_key: format!("stripe_fdw-{:032x}", rand::random::<u128>()),
        }
    }

    fn encoded(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&self.fields)
            .finish()
    }
}

/// What a request needs, shared by `Arc` with the tasks that run it.
#[derive(Clone)]
pub(crate) struct Requester {
    pub http: reqwest::Client,
    pub cfg: ClientConfig,
    pub headers: HeaderMap,
    /// The top-level fields list objects keep (`None`: all), see `fields.rs`.
    pub keep: Option<std::sync::Arc<[String]>>,
}

/// A pause shared by every request of one scan: a 429 (Stripe's rate limit) on any of them holds
/// back the next attempt of all of them, and counts toward slowing the scan down.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    until: Mutex<Option<Instant>>,
    throttled: AtomicU32,
}

impl Backoff {
    /// Rate-limit answers seen so far.
    pub(crate) fn throttled(&self) -> u32 {
        self.throttled.load(Ordering::Relaxed)
    }

    fn push(&self, until: Instant) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
        let mut u = self.until.lock().unwrap_or_else(|e| e.into_inner());
        if u.is_none_or(|t| t < until) {
            *u = Some(until);
        }
    }

    async fn wait(&self) {
        let until = *self.until.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = until {
            tokio::time::sleep_until(t.into()).await;
        }
    }
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

impl Requester {
    /// `GET url` as one page of a list; every error scrubbed of the API key.
    pub async fn list_page(&self, url: Url, backoff: &Backoff) -> Result<ListPage, StripeError> {
        let r = async {
            let (body, request_id) = self.get(url, backoff).await?;
            let page: ListPage =
                parse_page(&body, self.keep.as_deref()).map_err(|e| StripeError::BadBody {
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
        };
        r.await.map_err(|e| e.scrubbed(&self.cfg.api_key))
    }

    /// `GET url` as one object, `None` when Stripe says it does not exist or was deleted.
    pub async fn retrieve(
        &self,
        url: Url,
        backoff: &Backoff,
    ) -> Result<Option<Value>, StripeError> {
        let r = match self.get(url, backoff).await {
            Ok((body, request_id)) => match serde_json::from_slice::<Value>(&body) {
                Err(e) => Err(StripeError::BadBody {
                    reason: format!("expected an object: {e}"),
                    request_id,
                }),
                Ok(v) if !v.is_object() => Err(StripeError::BadBody {
                    reason: "expected a JSON object".into(),
                    request_id,
                }),
                Ok(v) if v.get("deleted").and_then(Value::as_bool) == Some(true) => Ok(None),
                Ok(v) => Ok(Some(v)),
            },
            Err(StripeError::Api {
                status: 404, error, ..
            }) if error.code.as_deref() == Some("resource_missing") => Ok(None),
            Err(e) => Err(e),
        };
        r.map_err(|e| e.scrubbed(&self.cfg.api_key))
    }

    /// `GET url` or `POST url` (form) as one object; errors scrubbed of the API key.
    pub async fn object(
        &self,
        url: Url,
        form: Option<Form>,
        backoff: &Backoff,
    ) -> Result<Value, StripeError> {
        let r = async {
            let (body, request_id) = match &form {
                None => self.get(url, backoff).await?,
                Some(f) => self.send(url, Some(f), backoff).await?,
            };
            match serde_json::from_slice::<Value>(&body) {
                Ok(v) if v.is_object() => Ok(v),
                _ => Err(StripeError::BadBody {
                    reason: "expected a JSON object".into(),
                    request_id,
                }),
            }
        };
        r.await.map_err(|e| e.scrubbed(&self.cfg.api_key))
    }

    /// A GET with retries, returning the body and the `Request-Id`.
    async fn get(
        &self,
        url: Url,
        backoff: &Backoff,
    ) -> Result<(Vec<u8>, Option<String>), StripeError> {
        self.send(url, None, backoff).await
    }

    /// A GET (no form) or a POST of `form`, with retries: the body and the `Request-Id`.
    async fn send(
        &self,
        url: Url,
        form: Option<&Form>,
        backoff: &Backoff,
    ) -> Result<(Vec<u8>, Option<String>), StripeError> {
        let started = Instant::now();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            backoff.wait().await;
            let err = match self.attempt(url.clone(), form).await {
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
                Decision::Retry(wait) => {
                    if matches!(outcome, Outcome::Status { status: 429, .. }) {
                        // Every request of the scan waits this long, not only this one.
                        backoff.push(Instant::now() + wait);
                    }
                    tokio::time::sleep(wait).await;
                }
                Decision::GiveUp(_) => return Err(self.final_error(err, attempt)),
            }
        }
    }

    async fn attempt(
        &self,
        url: Url,
        form: Option<&Form>,
    ) -> Result<(Vec<u8>, Option<String>), AttemptError> {
        let req = match form {
            None => self.http.get(url),
            Some(f) => self
                .http
                .post(url)
                .header("Idempotency-Key", f.idempotency_key.as_str())
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(f.encoded()),
        };
        let mut resp = req
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
        let ok = (200..300).contains(&status);
        let headers = resp.headers().clone();
        let mut body = Vec::with_capacity(resp.content_length().unwrap_or(0).min(cap) as usize);
        loop {
            let chunk = match resp.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                // An error answer whose body cannot be read (not gzip as it says, cut off) is
                // still that answer: its status decides, not a network failure to retry.
                Err(_) if !ok => break,
                Err(e) => return Err(AttemptError::Http(e)),
            };
            if body.len() as u64 + chunk.len() as u64 > cap {
                return Err(AttemptError::TooLarge { request_id });
            }
            body.extend_from_slice(&chunk);
        }
        if ok {
            Ok((body, request_id))
        } else {
            Err(AttemptError::Status {
                status,
                headers,
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
                let error = serde_json::from_slice::<Body>(&body)
                    .map(|b| b.error)
                    .unwrap_or_else(|_| ApiError {
                        message: Some(format!(
                            "Stripe answered HTTP {status} with a body that is not a Stripe error"
                        )),
                        ..ApiError::default()
                    });
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
            AttemptError::Http(e) if e.is_timeout() => {
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
            }
            AttemptError::Http(e) => StripeError::Transport {
                host: self.cfg.base_url.host_str().unwrap_or("-").to_string(),
                reason: error_chain(&e),
                attempts,
            },
        }
    }
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
        let s = e.to_string();
        parts.push(match e.url() {
            Some(u) => s.replace(u.as_str(), "<url>"),
            None => s,
        });
    }
    parts.join(": ")
}
