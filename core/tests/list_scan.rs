//! Concurrent list scans against the fake Stripe: every object exactly once with 1, 4 and 8
//! workers, with ties, with objects created mid-scan, under rate limits, with filters, and cancel.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{client, drain, fake, id, planned, scan};
use fake_stripe::{Catalog, FaultConfig, FaultKind, FaultRule};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use stripe_fdw_core::client::pages::Pager;
use stripe_fdw_core::client::{ListScan, Transport};
use stripe_fdw_core::plan::{plan, Cond, Fetch, Op, Scalar};

/// Fails unless every id occurs once; returns them as a set.
fn once(ids: &[String]) -> BTreeSet<String> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for i in ids {
        *seen.entry(i).or_default() += 1;
    }
    let dup: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dup.is_empty(), "returned more than once: {dup:?}");
    ids.iter().cloned().collect()
}

fn rule_429(after: u64, count: u64) -> FaultRule {
    FaultRule {
        kind: FaultKind::Status,
        status: Some(429),
        should_retry: None,
        retry_after: None,
        after,
        count: Some(count),
        path_prefix: None,
        method: None,
        size_bytes: None,
    }
}

#[test]
fn every_product_exactly_once_with_1_4_and_8_workers() {
    let f = fake(3_000, 1);
    let t = Transport::new(Duration::from_secs(5)).unwrap();
    let c = client(&t, &f);
    let p = planned("products", &[]);
    let mut all = None;
    for workers in [1, 4, 8] {
        f.clear_log();
        let mut s = scan(&c, "products", &p, workers);
        let ids = drain(&mut s);
        assert_eq!(ids.len(), 3_000, "{workers} workers: {}", s.describe());
        let set = once(&ids);
        assert_eq!(*all.get_or_insert(set.clone()), set);
        assert_eq!(s.requests(), f.log().len() as u64);
        if workers == 1 {
            assert_eq!(s.requests(), 30);
        } else {
            // Cutting costs a few requests (an empty or partly filled slice), never many.
            assert!(s.requests() <= 45, "{workers}: {}", s.describe());
        }
    }
}

#[test]
fn ties_within_one_second_are_returned_once() {
    let f = fake(2_000, 0);
    let t = Transport::new(Duration::from_secs(5)).unwrap();
    let c = client(&t, &f);
    let p = planned("products", &[]);
    let mut objects = Vec::new();
    let mut s = scan(&c, "products", &p, 1);
    while let Some(page) = s.next_page(&|| false).unwrap() {
        objects.extend(page);
    }
    // 40 products a second: every page boundary and every cut falls inside a tie.
    objects.reverse();
    for (i, o) in objects.iter_mut().enumerate() {
        o["created"] = (1_700_000_000 + (i / 40) as i64).into();
    }
    let path = std::env::temp_dir().join(format!("ties-{}.json", std::process::id()));
    std::fs::write(
        &path,
        serde_json::json!({ "products": objects }).to_string(),
    )
    .unwrap();
    f.reset(&Catalog::File(path.clone())).unwrap();
    for workers in [4, 8] {
        let ids = drain(&mut scan(&c, "products", &p, workers));
        assert_eq!(once(&ids).len(), 2_000, "{workers} workers");
    }
    let _ = std::fs::remove_file(path);
}

#[test]
fn objects_created_during_the_scan_never_come_twice() {
    let f = Arc::new(fake(3_000, 1));
    f.set_faults(FaultConfig {
        latency_ms: 10,
        rules: vec![],
    });
    let t = Transport::new(Duration::from_secs(5)).unwrap();
    let c = client(&t, &f);
    let before = once(&drain(&mut scan(
        &c,
        "products",
        &planned("products", &[]),
        1,
    )));
    let writer = {
        let f = f.clone();
        std::thread::spawn(move || {
            (0..150)
                .map(|i| {
                    std::thread::sleep(Duration::from_millis(2));
                    f.create_product(&format!("mid-scan {i}")).unwrap()
                })
                .collect::<BTreeSet<String>>()
        })
    };
    let ids = drain(&mut scan(&c, "products", &planned("products", &[]), 8));
    let created = writer.join().unwrap();
    let got = once(&ids);
    assert!(before.is_subset(&got), "an object that existed was missed");
    assert!(got.difference(&before).all(|i| created.contains(i)));
}

#[test]
fn a_rate_limit_slows_every_slice_and_never_fails_the_scan() {
    let f = fake(3_000, 1);
    f.set_faults(FaultConfig {
        latency_ms: 5,
        rules: vec![rule_429(3, 6)],
    });
    let t = Transport::new(Duration::from_secs(5)).unwrap();
    let c = client(&t, &f);
    let mut s = scan(&c, "products", &planned("products", &[]), 4);
    let ids = drain(&mut s);
    assert_eq!(once(&ids).len(), 3_000);
    let limited = f.log().iter().filter(|e| e.status == 429).count();
    assert_eq!(limited, 6);
    assert!(s.describe().contains("slowed to"), "{}", s.describe());
}

#[test]
fn a_cancel_stops_every_worker_promptly() {
    let f = fake(3_000, 0);
    f.set_faults(FaultConfig {
        latency_ms: 300,
        rules: vec![],
    });
    let t = Transport::new(Duration::from_secs(5)).unwrap();
    let c = client(&t, &f);
    let mut s = scan(&c, "products", &planned("products", &[]), 4);
    assert!(s.next_page(&|| false).unwrap().is_some());
    let cancel = Arc::new(AtomicBool::new(false));
    let at = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            cancel.store(true, Ordering::SeqCst);
            Instant::now()
        })
    };
    let err = loop {
        match s.next_page(&|| cancel.load(Ordering::SeqCst)) {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the scan ended before the cancel"),
            Err(e) => break e,
        }
    };
    let took = at.join().unwrap().elapsed();
    assert_eq!(err, stripe_fdw_core::StripeError::Cancelled);
    assert!(took < Duration::from_millis(500), "cancel took {took:?}");
    assert_eq!(
        s.next_page(&|| false).unwrap(),
        None,
        "nothing after a cancel"
    );
    // Requests already sent are answered within the latency; none is sent after the cancel.
    std::thread::sleep(Duration::from_millis(600));
    let settled = f.log().len();
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(
        f.log().len(),
        settled,
        "a worker kept fetching after the cancel"
    );
}

#[test]
fn filters_and_created_bounds_hold_in_every_slice() {
    let f = fake(3_000, 1);
    let t = Transport::new(Duration::from_secs(5)).unwrap();
    let c = client(&t, &f);
    let (lo, hi) = (1_600_000_000 + 1_000, 1_600_000_000 + 5_000);
    let conds = [
        Cond::new("active", Op::Eq, Scalar::Bool(true)),
        Cond::new("created", Op::Ge, Scalar::Time(lo * 1_000_000)),
        Cond::new("created", Op::Lt, Scalar::Time(hi * 1_000_000)),
    ];
    let p = planned("products", &conds);
    let want = once(&drain(&mut scan(&c, "products", &p, 1)));
    assert!(want.len() > 1_000, "{}", want.len());
    f.clear_log();
    let got = once(&drain(&mut scan(&c, "products", &p, 8)));
    assert_eq!(got, want);
    for e in f.log() {
        let q: BTreeMap<_, _> = e.query.iter().cloned().collect();
        assert_eq!(q.get("active").map(String::as_str), Some("true"), "{q:?}");
        let gte: i64 = q
            .get("created[gte]")
            .expect("a lower bound")
            .parse()
            .unwrap();
        let lte: i64 = q
            .get("created[lte]")
            .expect("an upper bound")
            .parse()
            .unwrap();
        assert!(gte >= lo && lte < hi, "{q:?}");
    }
}

#[test]
fn one_worker_sends_exactly_the_sequential_requests() {
    let f = fake(1_000, 0);
    let t = Transport::new(Duration::from_secs(5)).unwrap();
    let c = client(&t, &f);
    let spec = stripe_fdw_core::objects::find("products").unwrap();
    let conds = [Cond::new("active", Op::Eq, Scalar::Bool(true))];
    let p = plan(spec, &conds, Some((5, 0)));
    let Fetch::List(queries) = &p.fetch else {
        panic!("list")
    };
    let mut pager = Pager::new(queries.clone(), p.first_page_limit);
    while let Some(params) = pager.next_request() {
        let page = c.list_page("products", &params, &|| false).unwrap();
        let last = page.data.last().map(id);
        pager.advance(last.as_deref(), page.has_more).unwrap();
    }
    let sequential: Vec<_> = f.log().into_iter().map(|e| e.query).collect();
    f.clear_log();
    let mut s = ListScan::new(&c, spec, queries.clone(), p.first_page_limit, 1);
    drain(&mut s);
    let scanned: Vec<_> = f.log().into_iter().map(|e| e.query).collect();
    assert_eq!(scanned, sequential);
    assert_eq!(s.requests(), sequential.len() as u64);
}

#[test]
fn a_small_first_page_goes_alone_and_nothing_follows_unasked() {
    let f = fake(1_000, 0);
    let t = Transport::new(Duration::from_secs(5)).unwrap();
    let c = client(&t, &f);
    let spec = stripe_fdw_core::objects::find("products").unwrap();
    let p = plan(spec, &[], Some((5, 0)));
    let mut s = scan(&c, "products", &p, 8);
    assert_eq!(s.next_page(&|| false).unwrap().map(|d| d.len()), Some(5));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        f.log().len(),
        1,
        "a LIMIT 5 scan sent more than its first page"
    );
    let rest = drain(&mut s);
    assert_eq!(rest.len(), 995);
}

#[test]
fn batches_of_ids_run_at_once_and_each_object_comes_once() {
    let f = fake(1_000, 0);
    let t = Transport::new(Duration::from_secs(5)).unwrap();
    let c = client(&t, &f);
    let all = drain(&mut scan(&c, "products", &planned("products", &[]), 1));
    let wanted: Vec<String> = all.iter().step_by(4).cloned().collect();
    let conds = [Cond {
        column: "id".into(),
        op: Op::Eq,
        values: wanted.iter().cloned().map(Scalar::Text).collect(),
    }];
    let p = planned("products", &conds);
    let Fetch::List(queries) = &p.fetch else {
        panic!("ids[] batches")
    };
    assert!(queries.len() > 1 && queries.iter().all(|q| !q.paged));
    f.clear_log();
    let mut s = scan(&c, "products", &p, 4);
    let got = once(&drain(&mut s));
    assert_eq!(got, wanted.iter().cloned().collect::<BTreeSet<_>>());
    assert_eq!(s.requests() as usize, queries.len(), "one request a batch");
    assert!(
        s.describe().contains("not cut by created"),
        "{}",
        s.describe()
    );
}
