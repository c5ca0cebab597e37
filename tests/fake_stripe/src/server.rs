//! Accept loop and per-connection task: keep-alive, fault outcomes, clean shutdown.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::faults::Faults;
use crate::holds::Holds;
use crate::http::{read_request, write_response, write_truncated};
use crate::log::LogEntry;
use crate::router::{handle, Outcome};
use crate::state::State;
use crate::Catalog;

/// Everything the connections share.
pub struct Shared {
    pub state: Mutex<State>,
    pub faults: Mutex<Faults>,
    /// Hold rules and the requests they parked.
    pub holds: Mutex<Holds>,
    pub log: Mutex<Vec<LogEntry>>,
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
        match handle(&shared, req).await {
            Outcome::Reply(resp) => {
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
