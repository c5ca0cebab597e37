//! handle_webhook() through the JSON door (sql/webhooks.sql, _read_objects): PostgreSQL's own
//! serialization failures reach the caller as they are (retryable), not as a read_again; a source
//! column with a length limit is read column by column, as sync() reads it.

mod hooks;
mod race;
mod starter;

use e2e::*;
use hooks::*;
use race::*;
use starter::*;

#[test]
fn a_serialization_failure_under_repeatable_read_stays_40001() {
    let mut env = hooked(Catalog::Demo);
    let hobby = product_id(&mut env, "Hobby");
    let mut a = session(&env);
    a.batch_execute("begin isolation level repeatable read; select count(*) from public.products")
        .expect("begin");
    stripe_ok(&env, "POST", &format!("/products/{hobby}"), "name=First");
    let e1 = event_for(&env, "product.updated", &hobby);
    assert_eq!(deliver(&mut env, &e1)["action"], "applied");
    stripe_ok(&env, "POST", &format!("/products/{hobby}"), "name=Second");
    let e2 = event_for(&env, "product.updated", &hobby);
    let r = deliver_in(&mut a, &env, &e2);
    let _ = a.batch_execute("rollback");
    let err =
        r.expect_err("a repeatable-read transaction cannot update a row changed since it began");
    assert!(
        err.starts_with("[40001]") && err.contains("could not serialize"),
        "PostgreSQL's retryable 40001, as it is: {err}"
    );
}

#[test]
fn a_source_column_with_a_length_limit_is_read_as_sync_reads_it() {
    let mut env = hooked(Catalog::Demo);
    let hobby = product_id(&mut env, "Hobby");
    env.exec("alter foreign table {s}.products alter column name type varchar(3)");
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "name=Longer+name",
    );
    env.exec("call stripe_fdw.sync()");
    assert_eq!(
        synced_product(&mut env, &hobby, "name").as_deref(),
        Some("Longer name")
    );
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "name=Longer+name+2",
    );
    let e = event_for(&env, "product.updated", &hobby);
    let mut db = session(&env);
    let r = deliver_in(&mut db, &env, &e).expect("the delivery applies, as sync() does");
    assert_eq!(r["action"], "applied", "{r}");
    assert_eq!(
        synced_product(&mut env, &hobby, "name").as_deref(),
        Some("Longer name 2")
    );
}
