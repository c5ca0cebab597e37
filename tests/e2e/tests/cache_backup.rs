//! The cache through logical backups and staleness: an unpopulated cache says so (PostgreSQL's
//! own error, and cache_status with the one-line fix); a REFRESH typed by hand is recorded like
//! refresh_cache(); a dump restores with its caches refreshed when Stripe is reachable, and
//! unpopulated, said so, with the synced tables whole, when it is not; mark_cache_stale() /
//! stale_since; refresh_cache() refreshes stale caches first.

mod support;

use e2e::*;
use std::process::{Command, Output};
use support::{bindir, connect_to, unique, Scratch};

fn catalog(db: &mut postgres::Client) -> serde_json::Value {
    db.query_one(
        "select coalesce(jsonb_agg(to_jsonb(c)), '[]') from stripe_cache.catalog c",
        &[],
    )
    .expect("read the catalog")
    .get(0)
}

fn output(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
}

fn run(cmd: &mut Command) {
    let out = output(cmd);
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The first column of every row of `sql` on another database's connection.
fn column<T: for<'a> postgres::types::FromSql<'a>>(db: &mut postgres::Client, sql: &str) -> Vec<T> {
    db.query(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {}", describe(&e)))
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// The statement after "Run: " in a cache_status hint.
fn fix_in(hint: &str) -> String {
    hint.split("Run: ")
        .nth(1)
        .unwrap_or_else(|| panic!("no 'Run: ' in {hint}"))
        .to_string()
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
        assert!(err.message.contains("has not been populated"), "{err:?}");
        assert!(
            err.hint
                .as_deref()
                .is_some_and(|h| h.contains("REFRESH MATERIALIZED VIEW")),
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
    let fix = fix_in(&hint);
    assert_eq!(
        fix,
        env.sql("refresh materialized view {s}_cache.products;")
    );
    // The hint's statement is the fix.
    env.exec(&fix);
    let n: i64 = env.query("select count(*) from {s}_cache.products")[0].get(0);
    assert!(n > 0);
    let st = env.query(
        "select populated, row_count, hint is null, refreshed_at is not null from stripe_fdw.cache_status
          where object = '{s}_cache.products'",
    );
    assert!(st[0].get::<_, bool>(0) && st[0].get::<_, bool>(2) && st[0].get::<_, bool>(3));
    assert_eq!(st[0].get::<_, Option<i64>>(1), Some(n));
    env.exec("call stripe_fdw.refresh_cache('{s}_cache.prices')");
    env.query("select * from {s}_cache.catalog");

    // REFRESH ... WITH NO DATA empties it: said so again.
    env.exec("refresh materialized view {s}_cache.products with no data");
    let st = env.query(
        "select populated, row_count from stripe_fdw.cache_status where object = '{s}_cache.products'",
    );
    assert!(!st[0].get::<_, bool>(0));
    assert_eq!(st[0].get::<_, Option<i64>>(1), None);

    // A dropped materialized view: refresh_cache() forgets it; create_cache() makes it again, empty.
    env.exec("drop materialized view {s}_cache.products cascade");
    let n: i64 = env
        .query("select count(*) from stripe_fdw.cache_status where object = '{s}_cache.products'")
        [0]
    .get(0);
    assert_eq!(n, 0, "not listed");
    env.exec("call stripe_fdw.refresh_cache()");
    let n: i64 = env.query(
        "select count(*) from stripe_fdw.cache_registry where object = '{s}_cache.products'",
    )[0]
    .get(0);
    assert_eq!(n, 0, "forgotten");
    env.exec("select stripe_fdw.create_cache('{s}', '{s}_cache')");
    let err = env.error("select * from {s}_cache.products");
    assert_eq!(err.code, "55000", "{err:?}");

    // Made again after its schema was dropped: empty, and said so, whatever the registry knew.
    env.exec("call stripe_fdw.refresh_cache(); drop schema {s}_cache cascade; select stripe_fdw.create_cache('{s}', '{s}_cache')");
    let err = env.error("select * from {s}_cache.products");
    assert_eq!(err.code, "55000", "{err:?}");
    let st = env.query(
        "select populated, row_count, refreshed_at is null from stripe_fdw.cache_status
          where object = '{s}_cache.products'",
    );
    assert!(!st[0].get::<_, bool>(0) && st[0].get::<_, bool>(2));
    assert_eq!(st[0].get::<_, Option<i64>>(1), None);
}

/// REFRESH MATERIALIZED VIEW [CONCURRENTLY] typed by hand (or run by pg_cron) shows in
/// cache_status as refresh_cache() does: when, how long, the rows, the stale mark cleared; by the
/// owner or by a member of the owner's role.
#[test]
fn a_refresh_materialized_view_by_hand_is_recorded_in_cache_status() {
    let mut scratch = Scratch::new(Catalog::Demo);
    let member = unique("member");
    let env = scratch.env();
    env.exec("select stripe_fdw.create_cache(); refresh materialized view stripe_cache.products;");
    let st = |env: &mut Env| -> (bool, Option<i64>, bool, bool, Option<String>) {
        let r = &env.query(
            "select populated, row_count, duration is not null, stale_since is null, last_error
               from stripe_fdw.cache_status where object = 'stripe_cache.products'",
        )[0];
        (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4))
    };
    assert_eq!(st(env), (true, Some(4), true, true, None));
    let t1: std::time::SystemTime = env.query(
        "select refreshed_at from stripe_fdw.cache_status where object = 'stripe_cache.products'",
    )[0]
    .get(0);

    let (status, _) = env.stripe("POST", "/products", "name=By+Hand");
    assert_eq!(status, 200);
    env.query("select stripe_fdw.mark_cache_stale('products')");
    let owner = env.strings("select current_user::text").remove(0);
    env.exec(&format!(
        "create role {member}; grant {owner} to {member};
         set role {member};
         refresh materialized view concurrently stripe_cache.products;
         reset role;"
    ));
    // refresh_cache() is the owner's own: a member is told so, and what works for it.
    env.exec(&format!("set role {member}"));
    let err = env.error("call stripe_fdw.refresh_cache('stripe_cache.products')");
    env.exec("reset role");
    assert_eq!(err.code, "42501", "{err:?}");
    assert_eq!(
        st(env),
        (true, Some(5), true, true, None),
        "recorded, the mark cleared"
    );
    let t2: std::time::SystemTime = env.query(
        "select refreshed_at from stripe_fdw.cache_status where object = 'stripe_cache.products'",
    )[0]
    .get(0);
    assert!(t2 > t1);
    // No session setting moves the recorded start: not the float format, DateStyle or TimeZone.
    env.exec(
        "set extra_float_digits = -15; set datestyle = 'SQL, DMY'; set timezone = 'Asia/Kolkata';
         refresh materialized view concurrently stripe_cache.products;
         reset extra_float_digits; reset datestyle; reset timezone;",
    );
    let sane: bool = env.query(
        "select abs(extract(epoch from now() - refreshed_at)) < 60 and duration < interval '1 minute'
           from stripe_fdw.cache_status where object = 'stripe_cache.products'",
    )[0]
        .get(0);
    assert!(
        sane,
        "refreshed_at and duration as measured, whatever the session's settings"
    );
    // A materialized view that is not a cache is none of stripe_fdw's business.
    env.exec("create materialized view public.mine as select 1 as x; refresh materialized view public.mine;");
    drop(scratch);
    connect()
        .batch_execute(&format!("drop role if exists {member}"))
        .expect("drop role");
}

/// The source database of the restore tests: caches refreshed, and a synced table of its own.
fn dumped(scratch: &mut Scratch) -> (serde_json::Value, Vec<String>, std::path::PathBuf) {
    let src = scratch.name.clone();
    let env = scratch.env();
    env.exec(
        "select stripe_fdw.create_cache(); call stripe_fdw.refresh_cache();
         create table public.products (id text primary key, name text, active bool);
         select stripe_fdw.create_sync('public.products', 'stripe.products');
         call stripe_fdw.sync();",
    );
    let before = catalog(&mut env.db);
    let synced = env.strings("select id || ':' || name from public.products order by id");
    assert_eq!(synced.len(), 4);
    let file = std::env::temp_dir().join(format!("{}.dump", unique("cache")));
    // docs/cache.md, "Backups and restore": the same commands.
    run(Command::new(format!("{}/pg_dump", bindir()))
        .args(["-Fc", "-d", &src, "-f"])
        .arg(&file));
    (before, synced, file)
}

/// Run `check` against a new database `dst`, dropping it (and the dump) whatever happens.
fn restored(file: &std::path::Path, dst: &str, check: impl FnOnce()) {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(check));
    let _ = std::fs::remove_file(file);
    let _ = connect().batch_execute(&format!("drop database if exists {dst} with (force)"));
    if let Err(e) = outcome {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn a_dump_restored_while_stripe_is_reachable_has_its_caches_refreshed_by_the_restore() {
    let mut scratch = Scratch::new(Catalog::Demo);
    let (_, synced, file) = dumped(&mut scratch);
    let env = scratch.env();
    // Stripe changed since the dump: the restore's REFRESH reads it, not the dumped rows.
    let (status, _) = env.stripe("POST", "/products", "name=After+Dump&metadata[index]=9");
    assert_eq!(status, 200);
    let dst = unique("cache_restored");
    let bin = bindir();
    restored(&file.clone(), &dst.clone(), || {
        run(Command::new(format!("{bin}/createdb")).arg(&dst));
        run(Command::new(format!("{bin}/pg_restore"))
            .args(["--single-transaction", "--exit-on-error", "-d", &dst])
            .arg(&file));
        let mut db = connect_to(&dst);
        let names: Vec<String> = column(&mut db, "select name from stripe_cache.catalog");
        assert_eq!(names, vec!["Hobby", "Pro", "Team", "After Dump"]);
        let ok: Vec<String> = column(&mut db, "select object || '=' || row_count from stripe_fdw.cache_status
                  where populated and hint is null and refreshed_at > now() - interval '1 minute' order by object");
        assert_eq!(
            ok.len(),
            2,
            "both refreshed by the restore and recorded: {ok:?}"
        );
        let got: Vec<String> = column(
            &mut db,
            "select id || ':' || name from public.products order by id",
        );
        assert_eq!(got, synced, "the synced table as dumped");
    });
}

#[test]
fn a_dump_restored_while_stripe_is_down_says_the_caches_are_unpopulated_and_keeps_the_synced_tables(
) {
    let mut scratch = Scratch::new(Catalog::Demo);
    let (before, synced, file) = dumped(&mut scratch);
    let env = scratch.env();
    // Stripe goes away: the server's api_url now points at nothing.
    env.fake = FakeStripe::start(Config {
        catalog: Catalog::Demo,
        ..Config::default()
    })
    .expect("start fake stripe");
    let bin = bindir();
    let (dst, dst2) = (unique("cache_down"), unique("cache_down_list"));
    let list = std::env::temp_dir().join(format!("{dst2}.list"));
    restored(&file.clone(), &dst.clone(), || {
        // A plain pg_restore reports the failed refreshes and restores everything else.
        run(Command::new(format!("{bin}/createdb")).arg(&dst));
        let out = output(
            Command::new(format!("{bin}/pg_restore"))
                .args(["-d", &dst])
                .arg(&file),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert!(
            stderr.contains("REFRESH MATERIALIZED VIEW stripe_cache.products"),
            "{stderr}"
        );
        assert!(stderr.contains("could not talk to Stripe"), "{stderr}");
        assert!(stderr.contains("errors ignored on restore: 2"), "{stderr}");
        let mut db = connect_to(&dst);
        let rows = db
            .query(
                "select object, populated, hint from stripe_fdw.cache_status order by object",
                &[],
            )
            .expect("cache_status");
        assert_eq!(rows.len(), 2);
        for r in &rows {
            let (object, populated, hint): (String, bool, String) = (r.get(0), r.get(1), r.get(2));
            assert!(!populated, "{object}");
            assert_eq!(
                fix_in(&hint),
                format!("refresh materialized view {object};")
            );
        }
        let err = db
            .batch_execute("select * from stripe_cache.catalog")
            .expect_err("not populated");
        let e = DbErr::from(&err);
        assert_eq!(e.code, "55000", "{e:?}");
        assert!(e.message.contains("has not been populated"), "{e:?}");
        assert_eq!(
            e.hint.as_deref(),
            Some("Use the REFRESH MATERIALIZED VIEW command.")
        );
        let unhealthy: i64 = db
            .query_one(
                "select count(*) from stripe_fdw.health where kind = 'cache' and status = 'failing'",
                &[],
            )
            .expect("health")
            .get(0);
        assert_eq!(unhealthy, 2);
        let got: Vec<String> = column(
            &mut db,
            "select id || ':' || name from public.products order by id",
        );
        assert_eq!(got, synced, "the synced table restores whole");

        // Stripe is back (here at a new address): the hint's statement, or one refresh_cache().
        db.batch_execute(&format!(
            "alter server srv options (set api_url '{}'); call stripe_fdw.refresh_cache();",
            env.fake.base_url()
        ))
        .expect("refresh after restore");
        assert_eq!(catalog(&mut db), before);

        // docs/cache.md: with --exit-on-error, leave the caches' data out of the restore.
        let listed = output(
            Command::new(format!("{bin}/pg_restore"))
                .arg("-l")
                .arg(&file),
        );
        let kept: String = String::from_utf8_lossy(&listed.stdout)
            .lines()
            .filter(|l| !l.contains("MATERIALIZED VIEW DATA"))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&list, kept).expect("write the list");
        run(Command::new(format!("{bin}/createdb")).arg(&dst2));
        run(Command::new(format!("{bin}/pg_restore"))
            .args(["--single-transaction", "--exit-on-error", "-d", &dst2, "-L"])
            .arg(&list)
            .arg(&file));
        let mut db2 = connect_to(&dst2);
        let populated: Vec<bool> =
            column(&mut db2, "select populated from stripe_fdw.cache_status");
        assert_eq!(populated, vec![false, false]);
    });
    let _ = std::fs::remove_file(&list);
    let _ = connect().batch_execute(&format!("drop database if exists {dst2} with (force)"));
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
