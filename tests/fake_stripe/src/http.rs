//! Minimal HTTP/1.1 on tokio: read requests (Content-Length bodies, keep-alive) and write responses.
//! Hand-rolled so faults can drop, truncate or hang a connection exactly.

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub keep_alive: bool,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(status: u16, value: &serde_json::Value) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: serde_json::to_vec_pretty(value).unwrap_or_default(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Status line and headers (with Content-Length of the full body).
    pub fn head_bytes(&self, keep_alive: bool) -> Vec<u8> {
        let mut head = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        for (k, v) in &self.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        head.push_str(if keep_alive {
            "Connection: keep-alive\r\n\r\n"
        } else {
            "Connection: close\r\n\r\n"
        });
        head.into_bytes()
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

/// Read one request; `Ok(None)` on a clean EOF between requests.
pub async fn read_request(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> io::Result<Option<Request>> {
    let mut continued = false;
    loop {
        match try_parse(buf)? {
            Parsed::Done(req, used) => {
                buf.drain(..used);
                return Ok(Some(req));
            }
            Parsed::NeedBody { expect_continue } if expect_continue && !continued => {
                continued = true;
                stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
            }
            Parsed::NeedBody { .. } | Parsed::Partial => {}
        }
        if buf.len() > MAX_HEAD + MAX_BODY {
            return Err(bad("request too large"));
        }
        let mut chunk = [0u8; 16 * 1024];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(bad("eof mid-request"))
            };
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

enum Parsed {
    Partial,
    NeedBody { expect_continue: bool },
    Done(Request, usize),
}

fn try_parse(buf: &[u8]) -> io::Result<Parsed> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Request::new(&mut headers);
    let head_len = match parsed.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            if buf.len() > MAX_HEAD {
                return Err(bad("headers too large"));
            }
            return Ok(Parsed::Partial);
        }
        Err(e) => return Err(bad(&e.to_string())),
    };
    let method = parsed.method.unwrap_or("GET").to_string();
    let target = parsed.path.unwrap_or("/");
    let http10 = parsed.version == Some(0);
    let headers: Vec<(String, String)> = parsed
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_string(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
    };
    if find("transfer-encoding").is_some() {
        return Err(bad("chunked request bodies are not supported"));
    }
    let body_len: usize = match find("content-length") {
        Some(v) => v.parse().map_err(|_| bad("bad content-length"))?,
        None => 0,
    };
    if body_len > MAX_BODY {
        return Err(bad("body too large"));
    }
    if buf.len() < head_len + body_len {
        let expect_continue =
            find("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
        return Ok(Parsed::NeedBody { expect_continue });
    }
    let conn = find("connection").map(|v| v.to_ascii_lowercase());
    let keep_alive = match conn.as_deref() {
        Some("close") => false,
        Some("keep-alive") => true,
        _ => !http10,
    };
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target.to_string(), String::new()),
    };
    let req = Request {
        method,
        path,
        query,
        headers,
        body: buf[head_len..head_len + body_len].to_vec(),
        keep_alive,
    };
    Ok(Parsed::Done(req, head_len + body_len))
}

pub async fn write_response(
    stream: &mut TcpStream,
    resp: &Response,
    keep_alive: bool,
) -> io::Result<()> {
    let mut out = resp.head_bytes(keep_alive);
    out.extend_from_slice(&resp.body);
    stream.write_all(&out).await?;
    stream.flush().await
}

/// Send the head (full Content-Length) and only half the body, then stop.
pub async fn write_truncated(stream: &mut TcpStream, resp: &Response) -> io::Result<()> {
    let mut out = resp.head_bytes(false);
    out.extend_from_slice(&resp.body[..resp.body.len() / 2]);
    stream.write_all(&out).await?;
    stream.flush().await
}

/// Decode `a=1&b=%5B` pairs in order.
pub fn decode_pairs(raw: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(raw)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}
