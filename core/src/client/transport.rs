//! The I/O runtime and connection pool, on threads of their own that block every signal.
//!
//! A Postgres backend must stay single-threaded as far as signals go: a handler of Postgres' that
//! runs on another thread corrupts the backend. Every thread here (the runtime's workers, and the
//! blocking threads the DNS resolver starts from them) is created while every signal is blocked and
//! blocks every signal again when it starts, so the kernel only ever delivers signals to the
//! backend's own thread. The backend's thread only waits on these threads, and never runs HTTP or
//! JSON parsing itself.

use crate::error::StripeError;
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Runtime;

/// Worker threads of the runtime: enough to parse one page while others are read off the wire.
const WORKERS: usize = 2;

/// What a request needs from the transport; shared with the tasks on the worker threads.
pub(crate) struct Io {
    pub rt: Runtime,
    pub http: reqwest::Client,
}

/// A tokio runtime and a connection pool, kept for the life of a backend so connections are reused.
/// Cheap to share: clients made from it hold its [`Io`] by `Arc`.
pub struct Transport {
    pub(crate) io: Arc<Io>,
}

impl AsRef<Transport> for Transport {
    fn as_ref(&self) -> &Transport {
        self
    }
}

impl Transport {
    pub fn new(connect_timeout: Duration) -> Result<Self, StripeError> {
        let setup = |reason: String| StripeError::Transport {
            host: "-".into(),
            reason,
            attempts: 0,
        };
        // Threads inherit the creating thread's mask: start them with everything blocked.
        let _blocked = BlockedSignals::all();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .thread_name("stripe_fdw-io")
            .on_thread_start(block_every_signal)
            .enable_all()
            .build()
            .map_err(|e| setup(format!("cannot start the I/O runtime: {e}")))?;
        let http = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .pool_idle_timeout(Duration::from_secs(50))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| setup(format!("cannot build the HTTP client: {e}")))?;
        Ok(Transport {
            io: Arc::new(Io { rt, http }),
        })
    }
}

/// Block every signal in the calling thread (the start hook of every runtime thread).
fn block_every_signal() {
    let _ = set_mask(&full_set());
}

fn full_set() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigfillset initialises it fully.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        set
    }
}

/// Set the calling thread's signal mask, returning the previous one.
fn set_mask(set: &libc::sigset_t) -> Option<libc::sigset_t> {
    // SAFETY: both pointers are valid sigset_t values for the duration of the call.
    unsafe {
        let mut old: libc::sigset_t = std::mem::zeroed();
        (libc::pthread_sigmask(libc::SIG_SETMASK, set, &mut old) == 0).then_some(old)
    }
}

/// Every signal blocked in the calling thread until dropped, then the previous mask restored.
struct BlockedSignals {
    previous: Option<libc::sigset_t>,
}

impl BlockedSignals {
    fn all() -> Self {
        BlockedSignals {
            previous: set_mask(&full_set()),
        }
    }
}

impl Drop for BlockedSignals {
    fn drop(&mut self) {
        if let Some(old) = &self.previous {
            let _ = set_mask(old);
        }
    }
}
