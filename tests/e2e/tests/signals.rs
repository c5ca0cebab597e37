//! The backend stays single-threaded for signals (issue 9, item 6): every thread stripe_fdw starts
//! in a backend blocks every signal, so Postgres' handlers only ever run on the backend's thread.

use e2e::*;

fn blocked(pid: i32, tid: &str) -> Option<(String, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/status")).ok()?;
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k))
            .map(|v| v.trim().to_string())
    };
    let mask = u64::from_str_radix(&field("SigBlk:")?, 16).ok()?;
    Some((field("Name:")?, mask))
}

#[test]
fn every_thread_of_a_backend_but_its_own_blocks_every_signal() {
    let mut env = Env::new(Catalog::Demo);
    // A host name, so that the resolver runs (reqwest resolves on a thread of its own).
    env.exec(&format!(
        "alter server {{server}} options (set api_url 'http://localhost:{}/v1')",
        env.fake.port()
    ));
    let pid: i32 = env.query("select pg_backend_pid()")[0].get(0);
    let n: i64 = env.query("select count(*) from {s}.products")[0].get(0);
    assert!(n > 0);
    let tids: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("the backend's threads")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|t| *t != pid.to_string())
        .collect();
    assert!(
        !tids.is_empty(),
        "the scan started no thread in the backend"
    );
    // Every standard signal (1-31) but SIGKILL and SIGSTOP, which cannot be blocked.
    let want = ((1u64 << 31) - 1) & !((1u64 << 8) | (1u64 << 18));
    for tid in tids {
        let Some((name, mask)) = blocked(pid, &tid) else {
            continue; // ended meanwhile
        };
        assert_eq!(
            mask & want,
            want,
            "backend {pid} thread {tid} ({name}) can run a signal handler: SigBlk {mask:016x}"
        );
    }
}
