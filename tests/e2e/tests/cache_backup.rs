//! The cache through logical backups (issue 10 item 4) and staleness (issue 12 item 4): an
//! unpopulated cache says so; a dump restored while Stripe is down keeps every row without a
//! Stripe call; mark_cache_stale() / stale_since; refresh_cache() refreshes stale caches first.

mod support;

use e2e::*;
use std::process::Command;
use support::{bindir, connect_to, unique, Scratch};

fn catalog(db: &mut postgres::Client) -> serde_json::Value {
    db.query_one(
        "select coalesce(jsonb_agg(to_jsonb(c)), '[]') from stripe_cache.catalog c",
        &[],
    )
    .expect("read the catalog")
    .get(0)
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_unpopulated_cache_says_so_when_read_and_in_cache_status() {
    // A database of its own: refresh_cache() without an argument refreshes only these caches.
    let mut scratch = Scratch::new(Catalog::Demo);
    let env = scratch.env();
    env.exec("select stripe_fdw.create_cache('{s}', '{s}_cache')");
    for rel in ["products", "prices", "catalog"] {
        let err = env.error(&format!("select * from {{s}}_cache.{rel}"));
        assert_eq!(err.code, "55000", "{rel}: {err:?}");
        assert!(err.message.contains("never been refreshed"), "{err:?}");
        assert!(
            err.hint
                .as_deref()
                .is_some_and(|h| h.contains("call stripe_fdw.refresh_cache()")),
            "{err:?}"
        );
    }
    let st = env.query(
        "select populated, row_count, refreshed_at, hint from stripe_fdw.cache_status
          where object = '{s}_cache.products'",
    );
    assert!(!st[0].get::<_, bool>(0));
    assert_eq!(st[0].get::<_, Option<i64>>(1), None, "no rows claimed");
    assert!(st[0].get::<_, Option<std::time::SystemTime>>(2).is_none());
    let hint: String = st[0].get(3);
    assert!(hint.contains("call stripe_fdw.refresh_cache()"), "{hint}");

    env.exec("call stripe_fdw.refresh_cache('{s}_cache.products'); call stripe_fdw.refresh_cache('{s}_cache.prices')");
    let n: i64 = env.query("select count(*) from {s}_cache.products")[0].get(0);
    let st = env.query(
        "select populated, row_count, hint is null from stripe_fdw.cache_status
          where object = '{s}_cache.products'",
    );
    assert!(st[0].get::<_, bool>(0) && st[0].get::<_, bool>(2));
    assert_eq!(st[0].get::<_, Option<i64>>(1), Some(n));
    env.query("select * from {s}_cache.catalog");
    // Rows lost behind the registry's back (a dump restored without its table data): told.
    env.exec("delete from {s}_cache._products_rows");
    let st = env.query(
        "select row_count, hint from stripe_fdw.cache_status where object = '{s}_cache.products'",
    );
    assert_eq!(st[0].get::<_, Option<i64>>(0), Some(0));
    let hint: String = st[0].get(1);
    assert!(
        hint.contains(&format!("last refresh stored {n}"))
            && hint.contains("call stripe_fdw.refresh_cache()"),
        "{hint}"
    );
    // A dropped view: the rows stay, cache_status says how to get it back, create_cache does.
    env.exec("call stripe_fdw.refresh_cache('{s}_cache.products'); drop view {s}_cache.products");
    let hint: String = env
        .query("select hint from stripe_fdw.cache_status where object = '{s}_cache.products'")[0]
        .get(0);
    assert!(hint.contains("select stripe_fdw.create_cache("), "{hint}");
    env.exec("call stripe_fdw.refresh_cache(); select stripe_fdw.create_cache('{s}', '{s}_cache')");
    let back: i64 = env.query("select count(*) from {s}_cache.products")[0].get(0);
    assert_eq!(back, n, "the same rows, without a refresh");

    // Made again after its schema was dropped: empty, and said so, whatever the registry knew.
    env.exec("drop schema {s}_cache cascade; select stripe_fdw.create_cache('{s}', '{s}_cache')");
    let err = env.error("select * from {s}_cache.products");
    assert_eq!(err.code, "55000", "{err:?}");
    let st = env.query(
        "select populated, row_count, refreshed_at is null from stripe_fdw.cache_status
          where object = '{s}_cache.products'",
    );
    assert!(!st[0].get::<_, bool>(0) && st[0].get::<_, bool>(2));
    assert_eq!(st[0].get::<_, Option<i64>>(1), None);
}

#[test]
fn a_dump_restored_while_stripe_is_down_keeps_every_row_and_one_refresh_catches_up() {
    let mut scratch = Scratch::new(Catalog::Demo);
    let src = scratch.name.clone();
    let env = scratch.env();
    env.exec("select stripe_fdw.create_cache(); call stripe_fdw.refresh_cache();");
    let before = catalog(&mut env.db);
    let counts = env
        .strings("select object || '=' || row_count from stripe_fdw.cache_status order by object");
    assert_eq!(counts.len(), 2);

    // docs/cache.md, "Backups and restore": the same commands.
    let bin = bindir();
    let file = std::env::temp_dir().join(format!("{}.dump", unique("cache")));
    run(Command::new(format!("{bin}/pg_dump"))
        .args(["-Fc", "-d", &src, "-f"])
        .arg(&file));
    // Stripe goes away: the server's api_url now points at nothing.
    env.fake = FakeStripe::start(Config {
        catalog: Catalog::Demo,
        ..Config::default()
    })
    .expect("start fake stripe");
    let dst = unique("cache_restored");
    let restored = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run(Command::new(format!("{bin}/createdb")).arg(&dst));
        run(Command::new(format!("{bin}/pg_restore"))
            .args(["--single-transaction", "--exit-on-error", "-d", &dst])
            .arg(&file));
        let mut db = connect_to(&dst);
        let err = db
            .batch_execute("select count(*) from stripe.products")
            .expect_err("Stripe is down");
        assert!(err.as_db_error().is_some(), "{err}");
        assert_eq!(catalog(&mut db), before, "the rows as dumped");
        let got: Vec<String> = db
            .query(
                "select object || '=' || row_count from stripe_fdw.cache_status
                  where populated and last_error is null and hint is null order by object",
                &[],
            )
            .expect("cache_status")
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(got, counts);

        // Stripe is back (here at a new address): one refresh brings the cache up to date.
        let (status, _) = env.stripe("POST", "/products", "name=After+Restore&metadata[index]=9");
        assert_eq!(status, 200);
        db.batch_execute(&format!(
            "alter server srv options (set api_url '{}'); call stripe_fdw.refresh_cache();",
            env.fake.base_url()
        ))
        .expect("refresh after restore");
        let names: Vec<String> = db
            .query("select name from stripe_cache.catalog", &[])
            .expect("catalog")
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(names, vec!["Hobby", "Pro", "Team", "After Restore"]);
    }));
    let _ = std::fs::remove_file(&file);
    let _ = connect().batch_execute(&format!("drop database if exists {dst} with (force)"));
    if let Err(e) = restored {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn mark_cache_stale_shows_stale_since_and_refresh_cache_refreshes_stale_caches_first() {
    let mut scratch = Scratch::new(Catalog::Demo);
    let env = scratch.env();
    env.exec("select stripe_fdw.create_cache(); call stripe_fdw.refresh_cache();");
    let stale = |env: &mut Env| -> Vec<(String, bool)> {
        env.query(
            "select object, stale_since is not null from stripe_fdw.cache_status order by object",
        )
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
    };
    let none = vec![
        ("stripe_cache.prices".to_string(), false),
        ("stripe_cache.products".to_string(), false),
    ];
    assert_eq!(stale(env), none);
    // By Stripe object (every cache of it), by cache name, or nothing.
    let n: i32 = env.query("select stripe_fdw.mark_cache_stale('products')")[0].get(0);
    assert_eq!(n, 1);
    let n: i32 = env.query("select stripe_fdw.mark_cache_stale('stripe_cache.products')")[0].get(0);
    assert_eq!(n, 1);
    let n: i32 = env.query("select stripe_fdw.mark_cache_stale('customers')")[0].get(0);
    assert_eq!(n, 0);
    assert_eq!(
        stale(env),
        vec![
            ("stripe_cache.prices".to_string(), false),
            ("stripe_cache.products".to_string(), true)
        ]
    );
    let hint: String = env
        .query("select hint from stripe_fdw.cache_status where object = 'stripe_cache.products'")
        [0]
    .get(0);
    assert!(hint.contains("stale"), "{hint}");

    // products is stale: it is refreshed before prices (which sorts first by name).
    env.take_log();
    env.exec("call stripe_fdw.refresh_cache()");
    let paths: Vec<String> = env.take_log().into_iter().map(|e| e.path).collect();
    let first_products = paths.iter().position(|p| p.ends_with("/products"));
    let first_prices = paths.iter().position(|p| p.ends_with("/prices"));
    assert!(
        first_products.is_some() && first_products < first_prices,
        "{paths:?}"
    );
    assert_eq!(stale(env), none, "a successful refresh clears the mark");

    // A mark that comes in while a refresh runs (after it read Stripe) outlives that refresh.
    env.query("select stripe_fdw.mark_cache_stale('products')");
    env.fake.set_faults(FaultConfig {
        latency_ms: 1000,
        rules: vec![],
    });
    let db = scratch.name.clone();
    let refresher = std::thread::spawn(move || {
        connect_to(&db)
            .batch_execute("call stripe_fdw.refresh_cache('stripe_cache.products')")
            .map_err(|e| describe(&e))
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    let env = scratch.env();
    env.query("select stripe_fdw.mark_cache_stale('products')");
    refresher
        .join()
        .expect("no panic")
        .expect("the refresh succeeds");
    env.fake.clear_faults();
    assert_eq!(
        stale(env),
        vec![
            ("stripe_cache.prices".to_string(), false),
            ("stripe_cache.products".to_string(), true)
        ]
    );
}
