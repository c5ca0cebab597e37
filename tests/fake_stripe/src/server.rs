//! Accept loop and per-connection task: keep-alive, fault outcomes, clean shutdown.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::faults::Faults;
use crate::holds::Holds;
use crate::http::{read_request, write_response, write_truncated, Request, Response};
use crate::log::LogEntry;
use crate::router::{handle, Outcome};
use crate::state::State;
use crate::Catalog;
use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::Write;

/// Everything the connections share.
pub struct Shared {
    pub state: Mutex<State>,
    pub faults: Mutex<Faults>,
    /// Hold rules and the requests they parked.
    pub holds: Mutex<Holds>,
    pub log: Mutex<Vec<LogEntry>>,
    /// Bytes written to clients, heads and bodies as sent (for the bench's bytes on the wire).
    pub bytes_sent: AtomicU64,
    pub api_keys: Vec<String>,
    /// The catalog the server started with (what `/__reset` with `{}` restores).
    pub catalog: Catalog,
}

/// Lock ignoring poisoning (a panicked request must not wedge the server).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(connection(stream, shared.clone()));
                }
            }
        }
    }
}

async fn connection(mut stream: TcpStream, shared: Arc<Shared>) {
    let mut buf = Vec::new();
    loop {
        let req = match read_request(&mut stream, &mut buf).await {
            Ok(Some(r)) => r,
            _ => return,
        };
        let keep_alive = req.keep_alive;
        let gzip = accepts_gzip(&req);
        match handle(&shared, req).await {
            Outcome::Reply(resp) => {
                // As Stripe does: a body is compressed when the client accepts gzip.
                let resp = if gzip { compress(resp) } else { resp };
                let size = resp.head_bytes(keep_alive).len() + resp.body.len();
                shared.bytes_sent.fetch_add(size as u64, Ordering::Relaxed);
                if write_response(&mut stream, &resp, keep_alive)
                    .await
                    .is_err()
                    || !keep_alive
                {
                    return;
                }
            }
            Outcome::Drop => return,
            Outcome::Truncated(resp) => {
                let _ = write_truncated(&mut stream, &resp).await;
                return;
            }
            Outcome::Hang => {
                // Swallow input until the client goes away; never answer.
                let mut sink = [0u8; 4096];
                while let Ok(n) = stream.read(&mut sink).await {
                    if n == 0 {
                        break;
                    }
                }
                return;
            }
        }
    }
}

/// True when the request's `Accept-Encoding` lists gzip (with a non-zero quality).
fn accepts_gzip(req: &Request) -> bool {
    req.header("accept-encoding").is_some_and(|v| {
        v.split(',').any(|e| {
            let mut parts = e.split(';').map(str::trim);
            parts.next().is_some_and(|c| c.eq_ignore_ascii_case("gzip"))
                && parts.all(|p| p.replace(' ', "") != "q=0")
        })
    })
}

/// The response with a gzip body and `Content-Encoding: gzip` (unchanged when it has no body).
fn compress(resp: Response) -> Response {
    if resp.body.is_empty() {
        return resp;
    }
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    match enc.write_all(&resp.body).and_then(|_| enc.finish()) {
        Ok(body) => Response { body, ..resp }.header("Content-Encoding", "gzip"),
        Err(_) => resp,
    }
}
