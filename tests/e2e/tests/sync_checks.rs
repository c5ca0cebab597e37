//! create_sync's checks, failed syncs (nothing applied, recorded, re-raised), refresh_all, the
//! registry through pg_dump, and `_sync_ids`, the entry point of webhooks and catch_up.

mod starter;

use e2e::*;
use starter::*;

fn fail_503(env: &Env) {
    env.fake.set_faults(FaultConfig {
        latency_ms: 0,
        rules: vec![FaultRule {
            status: Some(503),
            should_retry: Some(false),
            ..rule(FaultKind::Status)
        }],
    });
}

#[test]
fn create_sync_checks_everything_and_says_what_to_change() {
    let mut env = starter(Catalog::Empty);
    env.exec(
        "create table public.nokey (id text, name text);
         create table public.other (sid text primary key, name text);
         create table public.plans (n bigserial primary key, stripe_id text not null unique, name text, tier int);
         create table public.victim (a int);",
    );
    let cases: &[(&str, &str, &str)] = &[
        ("'public.products', 'public.prices'", "42809", "is not a stripe_fdw foreign table"),
        ("'{s}.products', '{s}.products'", "42809", "is not a table"),
        ("'public.nokey', '{s}.products'", "42P10", "has no key for the Stripe id"),
        ("'public.other', '{s}.products'", "22023", "no key column of public.other holds the Stripe id"),
        ("'public.other', '{s}.products', '{\"sid\": \"name\"}'", "22023", "mapped to name"),
        ("'public.products', '{s}.products', '{\"imag\": \"images[1]\"}'", "42703", "has no column \"imag\""),
        ("'public.products', '{s}.products', '{\"image\": \"imagez[1]\"}'", "42703", "column \"imagez\" does not exist"),
        ("'public.products', '{s}.products', '{\"image\": \"max(name)\"}'", "42803", "aggregate functions are not allowed"),
        ("'public.products', '{s}.products', '{\"image\": \"unnest(images)\"}'", "0A000", "set-returning functions are not allowed"),
        ("'public.products', '{s}.products', '{\"image\": 1}'", "22023", "must be a non-empty string"),
        ("'public.products', '{s}.products', '[]'", "22023", "must be a JSON object"),
        ("'public.prices', '{s}.prices', '{\"product_id\": \"product\", \"unit_amount\": \"created\"}'", "42846", "gives timestamp with time zone, which cannot be cast to bigint"),
        // A string that would be two statements is refused before anything runs.
        ("'public.products', '{s}.products', '{\"image\": \"name) from {s}.products s; drop table public.victim; select (1\"}'", "42601", "not a valid expression"),
    ];
    for (args, code, text) in cases {
        let err = env.error(&format!("select stripe_fdw.create_sync({args})"));
        assert_eq!(&err.code, code, "{args}: {err:?}");
        assert!(err.all_text().contains(text), "{args}: {err:?}");
    }
    let victim: i64 =
        env.query("select count(*) from pg_tables where tablename = 'victim'")[0].get(0);
    assert_eq!(victim, 1, "the injected statement did not run");
    assert!(
        env.take_log().is_empty(),
        "checking reads nothing from Stripe"
    );

    // A surrogate key beside a unique stripe id; a column with no source column is left out.
    env.exec(
        "select stripe_fdw.create_sync('public.plans', '{s}.products', '{\"stripe_id\": \"id\"}')",
    );
    let cols = env.strings(
        "select column_name || ' ' || expression || ' ' || column_type || ' ' || is_key
           from stripe_fdw.sync_columns('public.plans')",
    );
    assert_eq!(cols, ["stripe_id id text true", "name name text false"]);
    // Registering again replaces the mapping.
    env.exec("select stripe_fdw.create_sync('public.plans', '{s}.products', '{\"stripe_id\": \"id\", \"tier\": \"(metadata->>''tier'')::int\"}')");
    let cols = env.strings("select column_name from stripe_fdw.sync_columns('public.plans')");
    assert_eq!(cols, ["stripe_id", "name", "tier"]);
    let err = env.error("call stripe_fdw.sync('public.nokey')");
    assert_eq!(err.code, "42704", "{err:?}");
    assert!(err.all_text().contains("create_sync"), "{err:?}");
}

#[test]
fn stripe_down_applies_nothing_records_the_error_and_raises_it() {
    let mut env = starter(Catalog::Demo);
    env.exec("call stripe_fdw.sync()");
    let hobby = product_id(&mut env, "Hobby");
    stripe_ok(&env, "POST", &format!("/products/{hobby}"), "name=Renamed");
    let before: String =
        env.query("select max(synced_at)::text from stripe_fdw.sync_status")[0].get(0);
    fail_503(&env);
    let err = env.error("call stripe_fdw.sync()");
    env.fake.clear_faults();
    assert_eq!(err.code, "HV000", "{err:?}");
    assert!(err.all_text().contains("503"), "{err:?}");
    let name: String = env.query(&format!(
        "select name from public.products where id = '{hobby}'"
    ))[0]
        .get(0);
    assert_eq!(name, "Hobby", "nothing applied");
    let st = env.query(
        "select bool_and(last_error = $e${m}$e$), bool_and(last_error_at is not null), max(synced_at)::text,
                sum(inserted)::bigint from stripe_fdw.sync_status"
            .replace("{m}", &err.message)
            .as_str(),
    );
    assert!(
        st[0].get::<_, bool>(0),
        "recorded for every target of the call"
    );
    assert!(st[0].get::<_, bool>(1));
    assert_eq!(
        st[0].get::<_, String>(2),
        before,
        "the last good sync is still shown"
    );
    assert_eq!(st[0].get::<_, i64>(3), 13, "and its counts");

    env.exec("call stripe_fdw.sync()");
    assert_eq!(counts(&mut env, "products"), (0, 1, 0));
    let clear: bool = env.query(
        "select bool_and(last_error is null and last_error_at is null) from stripe_fdw.sync_status",
    )[0]
    .get(0);
    assert!(clear, "a good sync clears the error");
}

/// The app's own `orders` references product `addon`, which Stripe then deletes, while Hobby is
/// renamed: the next sync's delete is blocked by the app's foreign key. Returns Hobby's id.
fn rename_hobby_and_delete_an_ordered_product(env: &mut Env, addon: &str) -> String {
    env.exec(&format!(
        "create table public.orders (id int primary key, product_id text references public.products);
         insert into public.orders values (1, '{addon}');"
    ));
    let hobby = product_id(env, "Hobby");
    stripe_ok(env, "POST", &format!("/products/{hobby}"), "name=Renamed");
    let (status, _) = env.stripe("DELETE", &format!("/products/{addon}"), "");
    assert_eq!(status, 200);
    hobby
}

#[test]
fn a_delete_blocked_by_the_apps_foreign_key_applies_nothing_and_names_row_and_constraint() {
    let mut env = starter(Catalog::Demo);
    let addon = create(&env, "/products", "name=Add-on");
    env.exec("call stripe_fdw.sync()");
    let hobby = rename_hobby_and_delete_an_ordered_product(&mut env, &addon);

    let err = env.error("call stripe_fdw.sync()");
    assert_eq!(err.code, "23503", "{err:?}");
    assert!(err.message.contains("orders_product_id_fkey"), "{err:?}");
    assert!(
        err.detail.clone().unwrap_or_default().contains(&addon),
        "{err:?}"
    );
    assert!(
        err.hint
            .clone()
            .unwrap_or_default()
            .contains("Nothing was applied"),
        "{err:?}"
    );
    let name: String = env.query(&format!(
        "select name from public.products where id = '{hobby}'"
    ))[0]
        .get(0);
    assert_eq!(
        name, "Hobby",
        "the rename in the same call was not applied either"
    );
    let recorded: String = env.query(
        "select last_error from stripe_fdw.sync_status where target = 'public.products'::regclass",
    )[0]
    .get(0);
    assert!(recorded.contains("orders_product_id_fkey"), "{recorded}");
    assert_eq!(
        drift(&mut env, "products"),
        [
            (addon.clone(), "removed".to_string()),
            (hobby.clone(), "changed".to_string())
        ]
        .into_iter()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
    );
}

#[test]
fn a_value_that_does_not_fit_applies_nothing_to_its_target_and_names_the_id_column_and_value() {
    let mut env = starter(Catalog::Demo);
    env.exec(
        "create table public.plans (id text primary key, tier int);
         select stripe_fdw.create_sync('public.plans', '{s}.products', '{\"tier\": \"metadata->>''index''\"}');",
    );
    env.exec("call stripe_fdw.sync()");
    let pro = product_id(&mut env, "Pro");
    let hobby = product_id(&mut env, "Hobby");
    let plans_before =
        env.strings("select id || ':' || coalesce(tier::text, '-') from public.plans order by id");
    stripe_ok(&env, "POST", &format!("/products/{hobby}"), "name=Renamed");
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{pro}"),
        "metadata[index]=first",
    );
    let err = env.error("call stripe_fdw.sync()");
    assert_eq!(err.code, "22P02", "{err:?}");
    assert!(
        err.message.contains(&pro) && err.message.contains("public.plans"),
        "{err:?}"
    );
    let detail = err.detail.clone().unwrap_or_default();
    assert!(
        detail.contains("tier") && detail.contains("'first'"),
        "{err:?}"
    );
    assert_eq!(
        env.strings("select id || ':' || coalesce(tier::text, '-') from public.plans order by id"),
        plans_before,
        "nothing of public.plans was applied"
    );
    let recorded: i64 = env.query(
        "select count(*) from stripe_fdw.sync_status
          where target = 'public.plans'::regclass and last_error like '%' || 'first' || '%'",
    )[0]
    .get(0);
    assert_eq!(recorded, 1, "the failure is recorded on its target");
    // public.products has no foreign key to public.plans: its sync is not held back by it.
    let name: String = env.query(&format!(
        "select name from public.products where id = '{hobby}'"
    ))[0]
        .get(0);
    assert_eq!(
        name, "Renamed",
        "a target unrelated to the failing one is applied"
    );
}

#[test]
fn sync_ids_upserts_and_deletes_only_the_given_ids_with_one_request() {
    let mut env = starter(Catalog::Demo);
    let addon = create(&env, "/products", "name=Add-on");
    env.exec("call stripe_fdw.sync()");
    let pro = product_id(&mut env, "Pro");
    let hobby = product_id(&mut env, "Hobby");
    stripe_ok(&env, "POST", &format!("/products/{pro}"), "name=Pro+2");
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "name=Not+asked+for",
    );
    let (status, _) = env.stripe("DELETE", &format!("/products/{addon}"), "");
    assert_eq!(status, 200);
    let xmin = format!("select xmin::text from public.products where id = '{hobby}'");
    let before = env.strings(&xmin);
    env.take_log();

    let r = env.query(&format!(
        "select target::text, inserted, updated, deleted
           from stripe_fdw._sync_ids('{{s}}.products', array['{pro}', '{addon}', 'prod_unknown'])"
    ));
    let log = env.take_log();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].get::<_, String>(0), "products");
    assert_eq!(
        (
            r[0].get::<_, i64>(1),
            r[0].get::<_, i64>(2),
            r[0].get::<_, i64>(3)
        ),
        (0, 1, 1)
    );
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].path, "/v1/products");
    assert_eq!(
        env.strings(&xmin),
        before,
        "rows not asked for are untouched"
    );
    let names = env.strings("select name from public.products order by name");
    assert_eq!(names, ["Hobby", "Legacy", "Pro 2", "Team"]);
    let sources = env.strings("select stripe_fdw._sync_sources('prices')::text");
    assert_eq!(sources, [env.sql("{s}.prices")]);
}

#[test]
fn refresh_all_runs_every_sync_then_every_cache_even_when_a_sync_fails() {
    let mut env = starter(Catalog::Demo);
    let addon = create(&env, "/products", "name=Add-on");
    env.exec("select stripe_fdw.create_cache('{s}', '{s}_cache')");
    env.exec("call stripe_fdw.refresh_all()");
    let synced: i64 = env
        .query("select count(*) from stripe_fdw.sync_status where synced_at is not null")[0]
        .get(0);
    let cached: i64 = env
        .query("select count(*) from stripe_fdw.cache_status where refreshed_at is not null")[0]
        .get(0);
    assert_eq!((synced, cached), (2, 2));
    let rows: i64 = env.query("select count(*) from public.prices")[0].get(0);
    assert_eq!(rows, 9);

    // A sync blocked by the app's own foreign key: the caches are refreshed all the same, and the
    // run ends in the sync's error.
    let hobby = rename_hobby_and_delete_an_ordered_product(&mut env, &addon);
    let err = env.error("call stripe_fdw.refresh_all()");
    assert_eq!(err.code, "23503", "{err:?}");
    let cached: String = env.query(&format!(
        "select name from {{s}}_cache.products where id = '{hobby}'"
    ))[0]
        .get(0);
    let synced: String = env.query(&format!(
        "select name from public.products where id = '{hobby}'"
    ))[0]
        .get(0);
    assert_eq!((cached.as_str(), synced.as_str()), ("Renamed", "Hobby"));
    let recorded: i64 = env.query("select count(*) from stripe_fdw.sync_status where last_error like '%orders_product_id_fkey%'")[0].get(0);
    assert_eq!(recorded, 2);
}

#[test]
fn json_and_timestamp_columns_of_the_app_are_filled_in_utc_and_not_rewritten() {
    let mut env = starter(Catalog::Demo);
    env.exec(
        "create table public.catalog (id text primary key, metadata json, created timestamp, name varchar(100));
         select stripe_fdw.create_sync('public.catalog', '{s}.products');
         set timezone = 'America/New_York';",
    );
    env.exec("call stripe_fdw.sync('public.catalog')");
    assert_eq!(counts(&mut env, "catalog"), (4, 0, 0));
    let wrong: i64 = env.query(
        "select count(*) from public.catalog c join {s}.products p using (id)
          where c.created is distinct from (p.created at time zone 'UTC')
             or c.metadata::jsonb is distinct from p.metadata or c.name is distinct from p.name",
    )[0]
    .get(0);
    assert_eq!(wrong, 0);
    let xmins = "select string_agg(xmin::text, ',' order by id) from public.catalog";
    let before = env.strings(xmins);
    env.exec("set timezone = 'Asia/Tokyo'; call stripe_fdw.sync('public.catalog')");
    assert_eq!(counts(&mut env, "catalog"), (0, 0, 0));
    assert_eq!(env.strings(xmins), before);
    assert!(drift(&mut env, "catalog").is_empty());
}

fn pg_bin(tool: &str) -> String {
    let pg_config = std::env::var("PG_CONFIG").unwrap_or_else(|_| "/usr/bin/pg_config".into());
    let out = std::process::Command::new(pg_config)
        .arg("--bindir")
        .output()
        .expect("pg_config --bindir");
    format!("{}/{tool}", String::from_utf8_lossy(&out.stdout).trim())
}

#[test]
fn the_registry_survives_pg_dump_and_restore() {
    let mut env = starter(Catalog::Demo);
    let db = env.own_database.clone().unwrap();
    let copy = format!("{db}_restored");
    let dump = std::process::Command::new(pg_bin("pg_dump"))
        .args(["--no-owner", "-d", &db])
        .output()
        .expect("pg_dump");
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let mut admin = connect();
    admin
        .batch_execute(&format!("create database {copy}"))
        .unwrap();
    let restored = (|| {
        let mut psql = std::process::Command::new(pg_bin("psql"))
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &copy, "-f", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        if let Some(mut stdin) = psql.stdin.take() {
            std::io::Write::write_all(&mut stdin, &dump.stdout).map_err(|e| e.to_string())?;
        }
        let out = psql.wait_with_output().map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).to_string());
        }
        let mut c = connect_db(Some(&copy)).0;
        c.batch_execute("call stripe_fdw.sync()")
            .map_err(|e| describe(&e))?;
        let r = c
            .query("select target::text || ' <- ' || source::text || ' ' || inserted from stripe_fdw.sync_status", &[])
            .map_err(|e| describe(&e))?;
        Ok::<Vec<String>, String>(r.iter().map(|r| r.get(0)).collect())
    })();
    let _ = admin.batch_execute(&format!("drop database if exists {copy} with (force)"));
    let s = env.s.clone();
    assert_eq!(
        restored.unwrap(),
        [
            format!("prices <- {s}.prices 9"),
            format!("products <- {s}.products 4")
        ]
    );
    let _ = &mut env;
}
