//! Writers that run at once never lose a newer state: one test per interleaving, each pausing a
//! reader at the fake between Stripe's answer and its write (a hold), letting another writer read
//! and commit a newer state meanwhile, then releasing the first. The first must not write its
//! older state over the newer one, nor bring a deleted product back.
//!
//! Each test has a database of its own (the starter's tables, synced, with a webhook secret).

mod hooks;
mod race;
mod starter;

use e2e::*;
use hooks::*;
use race::*;
use starter::*;

/// The first scenario: while a long sync reads, a product is created, one renamed and
/// one deleted, each delivered by webhook and applied. The sync must not undo any of them, and a
/// catch_up afterwards has nothing left to do.
#[test]
fn sync_x_webhook_a_sync_does_not_undo_webhooks_applied_while_it_read() {
    let mut env = hooked(Catalog::Demo);
    let doomed = create(&env, "/products", "name=Doomed");
    env.exec("call stripe_fdw.sync()");
    let hobby = product_id(&mut env, "Hobby");

    hold_next(&env, "/v1/products");
    let sync = spawn_sql(&env, "call stripe_fdw.sync()");
    wait_parked(&env, 1);
    let fresh = create(&env, "/products", "name=Brand+new");
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "name=Hobby+Renamed",
    );
    let (status, _) = env.stripe("DELETE", &format!("/products/{doomed}"), "");
    assert_eq!(status, 200);
    for (kind, id) in [
        ("product.created", &fresh),
        ("product.updated", &hobby),
        ("product.deleted", &doomed),
    ] {
        let evt = event_for(&env, kind, id);
        assert_eq!(deliver(&mut env, &evt)["action"], "applied", "{kind}");
    }
    finish(&env, sync);

    assert_eq!(name_of(&mut env, &fresh).as_deref(), Some("Brand new"));
    assert_eq!(name_of(&mut env, &hobby).as_deref(), Some("Hobby Renamed"));
    assert_eq!(
        name_of(&mut env, &doomed),
        None,
        "a deleted product stays deleted"
    );
    assert!(
        counter(&mut env, "rereads") >= 3,
        "the three conflicts were read again"
    );
    assert_in_sync(&mut env);
    env.take_log();
    env.exec("call stripe_fdw.catch_up()");
    assert_in_sync(&mut env);
    assert!(drift(&mut env, "products").is_empty());
}

#[test]
fn sync_x_catch_up_a_sync_does_not_undo_what_catch_up_applied_while_it_read() {
    let mut env = hooked(Catalog::Demo);
    let hobby = product_id(&mut env, "Hobby");

    hold_next(&env, "/v1/products");
    let sync = spawn_sql(&env, "call stripe_fdw.sync()");
    wait_parked(&env, 1);
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "name=Caught+up",
    );
    let fresh = create(&env, "/products", "name=Created+meanwhile");
    env.exec("call stripe_fdw.catch_up()");
    assert_eq!(name_of(&mut env, &hobby).as_deref(), Some("Caught up"));
    finish(&env, sync);

    assert_eq!(name_of(&mut env, &hobby).as_deref(), Some("Caught up"));
    assert_eq!(
        name_of(&mut env, &fresh).as_deref(),
        Some("Created meanwhile")
    );
    assert_in_sync(&mut env);
}

#[test]
fn catch_up_x_webhook_catch_up_does_not_write_its_older_read_over_a_webhook() {
    let mut env = hooked(Catalog::Demo);
    let hobby = product_id(&mut env, "Hobby");
    stripe_ok(&env, "POST", &format!("/products/{hobby}"), "name=First");

    hold_next(&env, "/v1/products");
    let catch_up = spawn_sql(&env, "call stripe_fdw.catch_up()");
    wait_parked(&env, 1);
    stripe_ok(&env, "POST", &format!("/products/{hobby}"), "name=Second");
    let evt = event_for(&env, "product.updated", &hobby);
    assert_eq!(deliver(&mut env, &evt)["action"], "applied");
    finish(&env, catch_up);

    assert_eq!(name_of(&mut env, &hobby).as_deref(), Some("Second"));
    assert_in_sync(&mut env);
}

#[test]
fn two_webhooks_for_one_object_out_of_order_leave_the_newest_state() {
    let mut env = hooked(Catalog::Demo);
    let hobby = product_id(&mut env, "Hobby");
    stripe_ok(&env, "POST", &format!("/products/{hobby}"), "name=Older");
    let older = event_for(&env, "product.updated", &hobby);

    hold_next(&env, "/v1/products");
    let first = spawn_delivery(&env, &older);
    wait_parked(&env, 1);
    stripe_ok(&env, "POST", &format!("/products/{hobby}"), "name=Newer");
    let newer = event_for(&env, "product.updated", &hobby);
    assert_eq!(deliver(&mut env, &newer)["action"], "applied");
    finish(&env, first);

    assert_eq!(name_of(&mut env, &hobby).as_deref(), Some("Newer"));
    let applied: i64 = env
        .query("select count(*) from stripe_fdw.webhook_events where action = 'applied'")[0]
        .get(0);
    assert_eq!(
        applied, 2,
        "both deliveries took effect (the older as the newest state)"
    );
    assert_in_sync(&mut env);
}

#[test]
fn a_delete_racing_an_update_does_not_bring_the_product_back() {
    let mut env = hooked(Catalog::Demo);
    let doomed = create(&env, "/products", "name=Doomed");
    env.exec("call stripe_fdw.sync()");
    stripe_ok(&env, "POST", &format!("/products/{doomed}"), "name=Renamed");
    let updated = event_for(&env, "product.updated", &doomed);

    hold_next(&env, "/v1/products");
    let update = spawn_delivery(&env, &updated);
    wait_parked(&env, 1);
    let (status, _) = env.stripe("DELETE", &format!("/products/{doomed}"), "");
    assert_eq!(status, 200);
    let deleted = event_for(&env, "product.deleted", &doomed);
    assert_eq!(deliver(&mut env, &deleted)["action"], "applied");
    assert_eq!(name_of(&mut env, &doomed), None);
    finish(&env, update);

    assert_eq!(name_of(&mut env, &doomed), None, "no resurrection");
    // And a full sync that read it before the delete cannot either.
    assert_in_sync(&mut env);
}

#[test]
fn two_syncs_the_one_that_read_first_does_not_write_last() {
    let mut env = hooked(Catalog::Demo);
    let hobby = product_id(&mut env, "Hobby");

    // One target each (full syncs also meet at catch_up's starting point): the race itself.
    hold_next(&env, "/v1/products");
    let slow = spawn_sql(&env, "call stripe_fdw.sync('public.products')");
    wait_parked(&env, 1);
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "name=Synced+later",
    );
    env.exec("call stripe_fdw.sync('public.products')");
    assert_eq!(name_of(&mut env, &hobby).as_deref(), Some("Synced later"));
    finish(&env, slow);

    assert_eq!(name_of(&mut env, &hobby).as_deref(), Some("Synced later"));
    assert!(counter(&mut env, "older_skipped") + counter(&mut env, "rereads") >= 1);
    assert_in_sync(&mut env);
}

/// The cache object of this test's products.
fn cache(env: &Env) -> String {
    format!("{}_cache.products", env.s)
}

fn cached_name(env: &mut Env, id: &str) -> Option<String> {
    let c = cache(env);
    env.query(&format!("select name from {c} where id = '{id}'"))
        .first()
        .map(|r| r.get::<_, String>(0))
}

/// REFRESH takes the materialized view's lock before it reads: a second refresh waits for the
/// first to commit, then reads, so the one that read first never writes last.
#[test]
fn two_refreshes_the_one_that_read_first_does_not_write_last() {
    let mut env = hooked(Catalog::Demo);
    env.exec("select stripe_fdw.create_cache('{s}', '{s}_cache'); call stripe_fdw.refresh_cache()");
    let hobby = product_id(&mut env, "Hobby");
    let c = cache(&env);

    hold_next(&env, "/v1/products");
    let slow = spawn_sql(&env, &format!("call stripe_fdw.refresh_cache('{c}')"));
    wait_parked(&env, 1);
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "name=Refreshed+later",
    );
    let later = spawn_sql(&env, &format!("refresh materialized view concurrently {c}"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let waiting: i64 = env.query(
            "select count(*) from pg_stat_activity
              where query like 'refresh materialized view concurrently%' and wait_event_type = 'Lock'",
        )[0]
            .get(0);
        if waiting == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the second refresh never waited for the first"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(
        cached_name(&mut env, &hobby).as_deref(),
        Some("Hobby"),
        "readers are not blocked"
    );
    finish(&env, slow);
    later
        .join()
        .expect("the second refresh's thread")
        .expect("the second refresh");

    assert_eq!(
        cached_name(&mut env, &hobby).as_deref(),
        Some("Refreshed later")
    );
    let drift: i64 = env.query(&format!(
        "select count(*) from stripe_fdw.cache_drift('{c}')"
    ))[0]
        .get(0);
    assert_eq!(drift, 0);
}

#[test]
fn refresh_x_webhook_a_change_marked_while_a_refresh_read_keeps_the_cache_stale() {
    let mut env = hooked(Catalog::Demo);
    env.exec("select stripe_fdw.create_cache('{s}', '{s}_cache'); call stripe_fdw.refresh_cache()");
    let hobby = product_id(&mut env, "Hobby");
    let c = cache(&env);

    hold_next(&env, "/v1/products");
    let refresh = spawn_sql(&env, &format!("call stripe_fdw.refresh_cache('{c}')"));
    wait_parked(&env, 1);
    stripe_ok(&env, "POST", &format!("/products/{hobby}"), "name=Marked");
    let evt = event_for(&env, "product.updated", &hobby);
    assert_eq!(deliver(&mut env, &evt)["action"], "applied");
    finish(&env, refresh);

    let stale: bool = env.query(&format!(
        "select stale_since is not null from stripe_fdw.cache_status where object = '{c}'"
    ))[0]
        .get(0);
    assert!(
        stale,
        "the refresh read before the change: the cache stays marked stale"
    );
    env.exec("call stripe_fdw.run_scheduled()");
    assert_eq!(cached_name(&mut env, &hobby).as_deref(), Some("Marked"));
    let stale: bool = env.query(&format!(
        "select stale_since is not null from stripe_fdw.cache_status where object = '{c}'"
    ))[0]
        .get(0);
    assert!(!stale);
}

/// A product created and deleted while a delivery of its product.created read it: the delete's
/// read found nothing to delete, and the older read must still not bring it in.
#[test]
fn a_product_created_and_deleted_while_a_webhook_read_it_does_not_come_in() {
    let mut env = hooked(Catalog::Demo);
    let brief = create(&env, "/products", "name=Brief");
    let created = event_for(&env, "product.created", &brief);

    hold_next(&env, "/v1/products");
    let late = spawn_delivery(&env, &created);
    wait_parked(&env, 1);
    let (status, _) = env.stripe("DELETE", &format!("/products/{brief}"), "");
    assert_eq!(status, 200);
    let deleted = event_for(&env, "product.deleted", &brief);
    assert_eq!(deliver(&mut env, &deleted)["action"], "applied");
    finish(&env, late);

    assert_eq!(name_of(&mut env, &brief), None, "it never comes in");
    assert!(drift(&mut env, "products").is_empty());
}

/// The same with a sync that listed the product before it was deleted.
#[test]
fn a_product_created_and_deleted_while_a_sync_read_does_not_come_in() {
    let mut env = hooked(Catalog::Demo);
    let brief = create(&env, "/products", "name=Brief");

    hold_next(&env, "/v1/products");
    let sync = spawn_sql(&env, "call stripe_fdw.sync()");
    wait_parked(&env, 1);
    let (status, _) = env.stripe("DELETE", &format!("/products/{brief}"), "");
    assert_eq!(status, 200);
    for kind in ["product.created", "product.deleted"] {
        let evt = event_for(&env, kind, &brief);
        assert_eq!(deliver(&mut env, &evt)["action"], "applied", "{kind}");
    }
    finish(&env, sync);

    assert_eq!(name_of(&mut env, &brief), None, "it never comes in");
    assert!(drift(&mut env, "products").is_empty());
}

/// A refresh that forgets a dropped cache does so under the write lock: a webhook marking that
/// cache stale at the same time never deadlocks with it.
#[test]
fn refresh_x_webhook_with_a_dropped_cache_never_deadlocks() {
    let mut env = hooked(Catalog::Demo);
    env.exec("select stripe_fdw.create_cache('{s}', '{s}_cache'); call stripe_fdw.refresh_cache()");
    let rows = env.strings(&format!(
        "select cache_relation::text from stripe_fdw.cache_registry where object = '{}'",
        cache(&env)
    ));
    env.exec(&format!("drop materialized view {} cascade", rows[0]));
    let hobby = product_id(&mut env, "Hobby");

    hold_next(&env, "/v1/prices");
    let refresh = spawn_sql(&env, "call stripe_fdw.refresh_cache()");
    wait_parked(&env, 1);
    stripe_ok(&env, "POST", &format!("/products/{hobby}"), "name=Marked");
    let evt = event_for(&env, "product.updated", &hobby);
    assert_eq!(deliver(&mut env, &evt)["action"], "applied");
    finish(&env, refresh);
    let left: i64 = env.query(&format!(
        "select count(*) from stripe_fdw.cache_registry where object = '{}'",
        cache(&env)
    ))[0]
        .get(0);
    assert_eq!(left, 0, "the dropped cache is forgotten");
}

/// A REFRESH of a cache inside a transaction left open takes no engine lock: webhooks, syncs and
/// other caches' refreshes go on (the event trigger that records it writes one registry row).
#[test]
fn a_refresh_in_an_open_transaction_holds_up_no_webhook() {
    let mut env = hooked(Catalog::Demo);
    env.exec("select stripe_fdw.create_cache('{s}', '{s}_cache'); call stripe_fdw.refresh_cache()");
    let c = cache(&env);
    let mut open = session(&env);
    open.batch_execute(&format!(
        "begin; refresh materialized view concurrently {c};"
    ))
    .expect("refresh in an open transaction");
    let hobby = product_id(&mut env, "Hobby");
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "name=Not+Held+Up",
    );
    let evt = event_for(&env, "product.updated", &hobby);
    let delivery = spawn_delivery(&env, &evt);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !delivery.is_finished() {
        assert!(
            std::time::Instant::now() < deadline,
            "the delivery waited for the open transaction"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    delivery.join().expect("thread").expect("the delivery");
    assert_eq!(name_of(&mut env, &hobby).as_deref(), Some("Not Held Up"));
    env.exec("call stripe_fdw.sync()");
    open.batch_execute("commit").expect("commit");
}
