//! The client never starts a thread that could run Postgres' signal handlers (issue 9, item 6).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use fake_stripe::{Catalog, Config, FakeStripe, DEFAULT_API_KEY};
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;
use stripe_fdw_core::client::retry::Policy;
use stripe_fdw_core::client::{Client, ClientConfig, Transport};

/// The signals a Postgres backend handles (on Linux x86-64/arm64 numbering).
const POSTGRES_SIGNALS: &[(&str, u32)] = &[
    ("SIGHUP", 1),
    ("SIGINT", 2),
    ("SIGQUIT", 3),
    ("SIGUSR1", 10),
    ("SIGUSR2", 12),
    ("SIGPIPE", 13),
    ("SIGALRM", 14),
    ("SIGTERM", 15),
    ("SIGCHLD", 17),
    ("SIGURG", 23),
];

fn tasks() -> BTreeSet<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn status(tid: &str) -> Option<(String, u64)> {
    let text = std::fs::read_to_string(format!("/proc/self/task/{tid}/status")).ok()?;
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k))
            .map(|v| v.trim().to_string())
    };
    let blocked = u64::from_str_radix(&field("SigBlk:")?, 16).ok()?;
    Some((field("Name:")?, blocked))
}

/// The calling thread's id, from /proc/thread-self (no libc call needed).
fn thread_id() -> String {
    std::fs::read_link("/proc/thread-self")
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn every_thread_the_client_starts_blocks_every_signal() {
    let before = tasks();
    let me = |tid: &str| status(tid).map(|(_, blocked)| blocked);
    let own = thread_id();
    let own_mask = me(&own);
    let fake = FakeStripe::start(Config {
        catalog: Catalog::Demo,
        ..Config::default()
    })
    .unwrap();
    let transport = Rc::new(Transport::new(Duration::from_secs(5)).unwrap());
    assert_eq!(
        me(&own),
        own_mask,
        "the caller's signal mask was not restored"
    );
    let cfg = ClientConfig {
        // A host name, so that the resolver runs (on a thread of the client's).
        base_url: url::Url::parse(&format!("http://localhost:{}/v1", fake.port())).unwrap(),
        api_key: DEFAULT_API_KEY.into(),
        api_version: None,
        account: None,
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(10),
        policy: Policy::new(0, Duration::from_secs(10)),
        max_response_size: 1 << 20,
    };
    let client = Client::new(transport.clone(), cfg).unwrap();
    let page = client
        .list_page("products", &[("limit".into(), "2".into())], &|| false)
        .unwrap();
    assert_eq!(page.data.len(), 2);

    let mut ours = Vec::new();
    for tid in tasks().difference(&before) {
        let Some((name, blocked)) = status(tid) else {
            continue; // the thread ended meanwhile
        };
        if name.starts_with("fake-stripe") {
            continue;
        }
        ours.push((tid.clone(), name, blocked));
    }
    assert!(
        !ours.is_empty(),
        "the request ran on no thread of the client's"
    );
    for (tid, name, blocked) in &ours {
        for (sig, n) in POSTGRES_SIGNALS {
            assert!(
                blocked & (1u64 << (n - 1)) != 0,
                "thread {tid} ({name}) can receive {sig}: SigBlk {blocked:016x}"
            );
        }
        // Every standard signal but SIGKILL and SIGSTOP, which cannot be blocked.
        let standard = (1u64 << 31) - 1;
        let unblockable = (1u64 << 8) | (1u64 << 18);
        assert_eq!(
            blocked & standard,
            standard & !unblockable,
            "thread {tid} ({name}) leaves a signal unblocked: SigBlk {blocked:016x}"
        );
    }
    drop(client);
    drop(transport);
}
