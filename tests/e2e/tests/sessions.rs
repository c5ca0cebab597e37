//! Many sessions at once: each backend has its own client threads and scan state, and none sees
//! another's rows, parameters or failures.

use e2e::*;
use std::thread;

#[test]
fn eight_sessions_scan_look_up_and_prepare_at_once() {
    let mut env = Env::new(generated(300, 2));
    let ids = env.strings("select id from {s}.products order by id");
    let start = env.postmaster_start();
    let schema = env.s.clone();
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let ids = ids.clone();
            let schema = schema.clone();
            thread::spawn(move || {
                let mut db = connect();
                let lookup = db
                    .prepare(&format!("select count(*) from {schema}.prices where product = $1"))
                    .expect("prepare");
                for round in 0..5 {
                    let n: i64 = db
                        .query_one(&format!("select count(*) from {schema}.products"), &[])
                        .expect("full scan")
                        .get(0);
                    assert_eq!(n, 300, "worker {w} round {round}");
                    let id = &ids[(w * 37 + round * 11) % ids.len()];
                    let n: i64 = db.query_one(&lookup, &[id]).expect("lookup").get(0);
                    assert_eq!(n, 2, "worker {w}: prices of {id}");
                    let name: Option<String> = db
                        .query_opt(
                            &format!("select name from {schema}.products where id = $1"),
                            &[id],
                        )
                        .expect("retrieve")
                        .map(|r| r.get(0));
                    assert!(name.is_some(), "worker {w}: {id}");
                }
                // A failing statement in one session leaves the others alone.
                let e = db.simple_query(&format!(
                    "select * from {schema}.products where created > now() + interval '1 day' and 1/0 = 1"
                ));
                assert!(e.is_err());
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }
    assert_eq!(env.postmaster_start(), start, "the server did not restart");
}
