//! Shared helpers for the integration tests: start a server, make requests, read fixtures.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use fake_stripe::{Catalog, Config, FakeStripe, DEFAULT_API_KEY};
use reqwest::blocking::{Client, RequestBuilder};
use reqwest::header::HeaderMap;
use serde_json::Value;

pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }
    pub fn data(&self) -> &Vec<Value> {
        self.body["data"].as_array().expect("list body")
    }
    pub fn ids(&self) -> Vec<String> {
        self.data()
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_string())
            .collect()
    }
    pub fn has_more(&self) -> bool {
        self.body["has_more"].as_bool().expect("has_more")
    }
    pub fn err_message(&self) -> String {
        self.body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }
    pub fn err_param(&self) -> String {
        self.body["error"]["param"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }
}

pub struct Fx {
    pub server: FakeStripe,
    pub http: Client,
}

pub fn start(catalog: Catalog) -> Fx {
    let server = FakeStripe::start(Config {
        catalog,
        ..Config::default()
    })
    .unwrap();
    let http = Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    Fx { server, http }
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

pub fn send(rb: RequestBuilder) -> Resp {
    let r = rb.send().unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Resp {
        status,
        headers,
        body,
    }
}

impl Fx {
    /// An authenticated GET of `/v1<path>` whose body the test reads itself (faults send bodies
    /// that are not JSON, or no response at all).
    pub fn raw_get(&self, path: &str) -> reqwest::Result<reqwest::blocking::Response> {
        self.http
            .get(self.server.base_url() + path)
            .bearer_auth(DEFAULT_API_KEY)
            .send()
    }
    pub fn root(&self) -> String {
        format!("http://127.0.0.1:{}", self.server.port())
    }
    /// GET `/v1/<path>` (path may hold a query string), authenticated.
    pub fn get(&self, path: &str) -> Resp {
        send(
            self.http
                .get(format!("{}/{}", self.server.base_url(), path))
                .bearer_auth(DEFAULT_API_KEY),
        )
    }
    pub fn post(&self, path: &str, pairs: &[(&str, &str)]) -> Resp {
        send(
            self.http
                .post(format!("{}/{}", self.server.base_url(), path))
                .bearer_auth(DEFAULT_API_KEY)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(form(pairs)),
        )
    }
    pub fn delete(&self, path: &str) -> Resp {
        send(
            self.http
                .delete(format!("{}/{}", self.server.base_url(), path))
                .bearer_auth(DEFAULT_API_KEY),
        )
    }
    /// A control request (`/__...`) with an optional JSON body.
    pub fn control(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        let url = format!("{}{}", self.root(), path);
        let rb = match method {
            "GET" => self.http.get(url),
            "POST" => self.http.post(url),
            "DELETE" => self.http.delete(url),
            _ => panic!("method {method}"),
        };
        let rb = match body {
            Some(b) => rb
                .header("Content-Type", "application/json")
                .body(b.to_string()),
            None => rb,
        };
        send(rb)
    }
    pub fn faults(&self, cfg: Value) {
        let r = self.control("POST", "/__faults", Some(cfg));
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    /// Every object of a list endpoint, following `starting_after` (limit 100).
    pub fn all(&self, endpoint: &str, extra: &str) -> Vec<Value> {
        let mut out: Vec<Value> = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut q = format!("{endpoint}?limit=100{extra}");
            if let Some(c) = &cursor {
                q.push_str(&format!("&starting_after={c}"));
            }
            let r = self.get(&q);
            assert_eq!(r.status, 200, "{:?}", r.body);
            out.extend(r.data().iter().cloned());
            if !r.has_more() {
                return out;
            }
            cursor = Some(out.last().unwrap()["id"].as_str().unwrap().to_string());
        }
    }
}

pub fn ids(objs: &[Value]) -> Vec<String> {
    objs.iter()
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect()
}

pub fn spec() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/openapi-extract.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}
