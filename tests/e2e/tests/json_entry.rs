//! The engine's JSON entry points (sql/json_apply.sql): Stripe's JSON read elsewhere (here taken
//! from the foreign tables' `attrs`, as the Edge Function takes it from Stripe) applied with the
//! same guarantee as the foreign-table path: no older read replaces a newer one, no deleted object
//! comes back, overlapping reads that disagree are read again under the write lock.

use e2e::*;
use postgres::Transaction;
use serde_json::Value;

/// An Env with an account fed as JSON, its source tables (which keep themselves) in schema
/// `js_<tag>`, and `public.t_<tag>` kept from its products.
struct Fed {
    env: Env,
    js: String,
    target: String,
}

fn fed() -> Fed {
    let mut env = Env::in_own_database(Catalog::Demo);
    let js = format!("js_{}", unique_tag());
    let target = format!("t_{}", unique_tag());
    env.exec(&format!(
        "select stripe_fdw.create_account('acct');
         select stripe_fdw.create_sources('{js}', array['products', 'prices'], 'acct');
         create table public.{target} (id text primary key, name text, active bool);
         select stripe_fdw.create_sync('public.{target}', '{js}.products');"
    ));
    Fed { env, js, target }
}

fn tick(db: &mut impl postgres::GenericClient) -> i64 {
    db.query_one("select stripe_fdw.read_tick()", &[])
        .expect("read_tick")
        .get(0)
}

/// Stripe's JSON of product `id`, as a read now would get it.
fn product_json(env: &mut Env, id: &str) -> Value {
    env.query(&format!(
        "select attrs from {{s}}.products where id = '{id}'"
    ))[0]
        .get(0)
}

/// A read of product `id` as the Edge Function makes one: a tick before, Stripe's JSON, a tick after.
struct Read {
    from: i64,
    to: i64,
    objects: Vec<Value>,
}

fn read(env: &mut Env, ids: &[&str]) -> Read {
    let s = env.s.clone();
    read_in(&mut env.db, &s, ids)
}

/// The same read on `db` (a transaction that holds the write lock, say); `s`: the foreign tables'
/// schema.
fn read_in(db: &mut impl postgres::GenericClient, s: &str, ids: &[&str]) -> Read {
    let from = tick(db);
    let objects = ids
        .iter()
        .map(|id| {
            db.query_one(
                &format!("select attrs from {s}.products where id = $1"),
                &[id],
            )
            .expect("read")
            .get(0)
        })
        .collect();
    let to = tick(db);
    Read { from, to, objects }
}

fn apply(db: &mut impl postgres::GenericClient, r: &Read, gone: &[&str]) -> Value {
    let objs = Value::Array(r.objects.clone());
    let gone: Vec<String> = gone.iter().map(|g| g.to_string()).collect();
    db.query_one(
        "select stripe_fdw.apply_objects('acct', 'products', $1, $2, $3, $4)",
        &[&r.from, &r.to, &objs, &gone],
    )
    .unwrap_or_else(|e| panic!("apply_objects: {}", describe(&e)))
    .get(0)
}

fn name_of(env: &mut Env, target: &str, id: &str) -> Option<String> {
    env.query(&format!(
        "select name from public.{target} where id = '{id}'"
    ))
    .first()
    .map(|r| r.get(0))
}

fn any_product(env: &mut Env) -> String {
    env.strings("select id from {s}.products where active order by id limit 1")
        .remove(0)
}

#[test]
fn an_older_read_never_replaces_a_newer_one() {
    let mut f = fed();
    let p = any_product(&mut f.env);
    let old = read(&mut f.env, &[&p]);
    f.env
        .stripe("POST", &format!("/products/{p}"), "name=Newer");
    let new = read(&mut f.env, &[&p]);
    let r = apply(&mut f.env.db, &new, &[]);
    assert_eq!(
        r["targets"], 2,
        "the target and the source table that keeps itself: {r}"
    );
    assert_eq!(name_of(&mut f.env, &f.target, &p).as_deref(), Some("Newer"));
    let r = apply(&mut f.env.db, &old, &[]);
    assert_eq!(r["rows"], 0, "{r}");
    assert_eq!(name_of(&mut f.env, &f.target, &p).as_deref(), Some("Newer"));
    let js = f.js.clone();
    assert_eq!(
        f.env
            .strings(&format!("select name from {js}.products where id = '{p}'")),
        vec!["Newer"]
    );
}

#[test]
fn a_deleted_object_never_comes_back_from_an_older_read() {
    let mut f = fed();
    let p = f.env.fake.create_product("Short-lived").expect("product");
    let first = read(&mut f.env, &[&p]);
    let r = apply(&mut f.env.db, &first, &[]);
    assert_eq!(r["rows"], 2, "{r}");
    let old = read(&mut f.env, &[&p]);
    f.env.stripe("DELETE", &format!("/products/{p}"), "");
    let gone = Read {
        objects: vec![],
        ..read(&mut f.env, &[])
    };
    apply(&mut f.env.db, &gone, &[&p]);
    assert_eq!(name_of(&mut f.env, &f.target, &p), None, "deleted");
    apply(&mut f.env.db, &old, &[]);
    assert_eq!(
        name_of(&mut f.env, &f.target, &p),
        None,
        "not brought back by the older read"
    );
}

#[test]
fn overlapping_reads_that_disagree_are_read_again_under_the_lock() {
    let mut f = fed();
    let p = any_product(&mut f.env);
    // Read A begins and sees the old name; the name changes; read B begins before A's answer is
    // handed over (A's read_to is taken after B's read_from) and sees the new one.
    let a_from = tick(&mut f.env.db);
    let a_obj = product_json(&mut f.env, &p);
    f.env
        .stripe("POST", &format!("/products/{p}"), "name=From%20B");
    let b = read(&mut f.env, &[&p]);
    let a = Read {
        from: a_from,
        to: tick(&mut f.env.db),
        objects: vec![a_obj],
    };
    apply(&mut f.env.db, &b, &[]);
    f.env
        .stripe("POST", &format!("/products/{p}"), "name=Latest");
    let (mut other, _) = connect_db(f.env.own_database.as_deref());
    let s = f.env.s.clone();
    let mut tx: Transaction = f.env.db.transaction().expect("begin");
    let r = apply(&mut tx, &a, &[]);
    assert_eq!(
        r["read_again"],
        serde_json::json!([{"object": "products", "ids": [p]}]),
        "{r}"
    );
    // The write lock stays with this transaction: another writer waits.
    let free: bool = other
        .query_one("select pg_try_advisory_xact_lock(1397113943, 1)", &[])
        .expect("try lock")
        .get(0);
    assert!(!free, "the write lock is held while the ids are read again");
    // Read again now, apply, then the first call again with the same ticks: it skips.
    let again = read_in(&mut tx, &s, &[&p]);
    let r = apply(&mut tx, &again, &[]);
    assert!(r.get("read_again").is_none(), "{r}");
    let r = apply(&mut tx, &a, &[]);
    assert!(r.get("read_again").is_none(), "{r}");
    tx.commit().expect("commit");
    assert_eq!(
        name_of(&mut f.env, &f.target, &p).as_deref(),
        Some("Latest")
    );
}

#[test]
fn a_row_whose_parent_is_missing_asks_for_the_parent() {
    let mut env = Env::in_own_database(Catalog::Demo);
    let js = format!("js_{}", unique_tag());
    env.exec(&format!(
        "select stripe_fdw.create_account('acct');
         select stripe_fdw.create_sources('{js}', array['products', 'prices'], 'acct');
         create table public.pp (id text primary key, name text);
         create table public.pr (id text primary key, product_id text not null references public.pp, unit_amount bigint);
         select stripe_fdw.create_sync('public.pp', '{js}.products');
         select stripe_fdw.create_sync('public.pr', '{js}.prices', '{{\"product_id\": \"product\"}}');"
    ));
    let price = env
        .strings("select id from {s}.prices order by id limit 1")
        .remove(0);
    let product = env
        .strings(&format!(
            "select product from {{s}}.prices where id = '{price}'"
        ))
        .remove(0);
    let t = tick(&mut env.db);
    let obj: Value = env.query(&format!(
        "select attrs from {{s}}.prices where id = '{price}'"
    ))[0]
        .get(0);
    let t2 = tick(&mut env.db);
    let mut tx = env.db.transaction().expect("begin");
    let r: Value = tx
        .query_one(
            "select stripe_fdw.apply_objects('acct', 'prices', $1, $2, $3)",
            &[&t, &t2, &Value::Array(vec![obj])],
        )
        .expect("apply")
        .get(0);
    assert_eq!(
        r["read_again"],
        serde_json::json!([{"object": "products", "ids": [product]}]),
        "{r}"
    );
    let n: i64 = tx
        .query_one("select count(*) from public.pr", &[])
        .expect("count")
        .get(0);
    assert_eq!(n, 0, "nothing written when something must be read first");
    tx.rollback().expect("rollback");
}

#[test]
fn what_is_not_a_read_of_stripe_is_refused() {
    let mut f = fed();
    let p = any_product(&mut f.env);
    let r = read(&mut f.env, &[&p]);
    let (t, t2) = (r.from, r.to);
    let far = t2 + 1_000_000;
    let cases = [
        (
            format!("select stripe_fdw.apply_objects('acct', 'prices', {t}, {t2}, $1)"),
            "price objects",
        ),
        (
            format!("select stripe_fdw.apply_objects('acct', 'products', {far}, {far}, $1)"),
            "not a tick",
        ),
        (
            format!("select stripe_fdw.apply_objects('acct', 'products', {t2}, {t}, $1)"),
            "after read_from",
        ),
        (
            format!("select stripe_fdw.apply_objects('acct', 'widgets', {t}, {t2}, $1)"),
            "not a Stripe object",
        ),
        (
            format!("select stripe_fdw.apply_objects('nobody', 'products', {t}, {t2}, $1)"),
            "no account",
        ),
    ];
    for (sql, says) in cases {
        let e = f
            .env
            .db
            .query_one(sql.as_str(), &[&Value::Array(r.objects.clone())])
            .err()
            .map(|e| DbErr::from(&e))
            .unwrap_or_else(|| panic!("{sql} was accepted"));
        assert!(e.all_text().contains(says), "{sql}: {e:?}");
    }
}

#[test]
fn a_row_that_cannot_be_mapped_read_again_does_not_ask_again() {
    let mut env = Env::in_own_database(Catalog::Demo);
    let js = format!("js_{}", unique_tag());
    env.exec(&format!(
        "select stripe_fdw.create_account('acct');
         select stripe_fdw.create_sources('{js}', array['products'], 'acct');
         create table public.tiers (id text primary key, name text, tier int not null);
         select stripe_fdw.create_sync('public.tiers', '{js}.products', '{{\"tier\": \"(metadata ->> ''index'')::int\"}}');"
    ));
    let p = env.fake.create_product("Untiered").expect("product");
    env.stripe("POST", &format!("/products/{p}"), "metadata[index]=1");
    let first = read(&mut env, &[&p]);
    apply(&mut env.db, &first, &[]);
    // A reads a new name; the product loses its index; B reads it (it cannot be mapped: left as
    // it is); A arrives, overlapping B, and differs from what the table holds.
    env.stripe("POST", &format!("/products/{p}"), "name=Second");
    let a_from = tick(&mut env.db);
    let a_obj = product_json(&mut env, &p);
    env.stripe(
        "POST",
        &format!("/products/{p}"),
        "metadata[index]=&name=Renamed",
    );
    let b = read(&mut env, &[&p]);
    let a = Read {
        from: a_from,
        to: tick(&mut env.db),
        objects: vec![a_obj],
    };
    apply(&mut env.db, &b, &[]);
    let s = env.s.clone();
    let mut tx = env.db.transaction().expect("begin");
    let r = apply(&mut tx, &a, &[]);
    assert!(
        r.get("read_again").is_some(),
        "A overlaps B and disagrees: {r}"
    );
    {
        let again = read_in(&mut tx, &s, &[&p]);
        apply(&mut tx, &again, &[]);
        let r = apply(&mut tx, &a, &[]);
        assert!(
            r.get("read_again").is_none(),
            "asked again for what cannot be mapped: {r}"
        );
    }
    tx.commit().expect("commit");
}

#[test]
fn a_delivery_for_another_roles_tables_is_refused_not_recorded() {
    let mut env = Env::in_own_database(Catalog::Demo);
    let js = format!("js_{}", unique_tag());
    let role = format!("r_{}", unique_tag());
    let secret = "whsec_json_entry_0123456789";
    env.exec(&format!(
        "create extension if not exists pgcrypto;
         select stripe_fdw.create_account('acct', 'acct_secret');
         insert into stripe_fdw.account_secrets values ('acct_secret', '{secret}');
         create role {role};
         select stripe_fdw.create_object_tables('{js}', array['products']);
         insert into stripe_fdw.json_sources values ('{js}', 'products', 'acct', 'products');
         alter table {js}.products owner to {role};
         grant usage on schema stripe_fdw, {js} to {role};
         grant select, insert, update, delete on all tables in schema stripe_fdw to {role};
         grant usage, select on all sequences in schema stripe_fdw to {role};
         set role {role};
         select stripe_fdw.create_sync('{js}.products', '{js}.products');
         reset role;"
    ));
    let p = env
        .strings("select id from {s}.products order by id limit 1")
        .remove(0);
    env.stripe(
        "POST",
        &format!("/products/{p}"),
        "name=For%20the%20other%20role",
    );
    let ev = env
        .fake
        .events()
        .iter()
        .find(|e| e["type"] == "product.updated" && e["data"]["object"]["id"] == p.as_str())
        .and_then(|e| e["id"].as_str())
        .expect("event")
        .to_string();
    let (payload, header) = env.fake.webhook(&ev, secret, None).expect("signed");
    let e = env
        .db
        .query_one(
            "select stripe_fdw.webhook_receive($1, $2, 'acct')",
            &[&payload, &header],
        )
        .err()
        .map(|e| DbErr::from(&e))
        .expect("refused");
    assert_eq!(e.code, "42501", "{e:?}");
    let n: i64 = env.query("select count(*) from stripe_fdw.webhook_events")[0].get(0);
    assert_eq!(n, 0, "nothing recorded: Stripe delivers it again");
}

#[test]
fn a_group_that_fails_in_a_full_read_is_recorded_and_the_others_apply() {
    let mut env = Env::in_own_database(Catalog::Demo);
    let js = format!("js_{}", unique_tag());
    env.exec(&format!(
        "select stripe_fdw.create_account('acct');
         select stripe_fdw.create_sources('{js}', array['products', 'customers'], 'acct');
         alter table {js}.customers add constraint email_has_at check (email like '%@%');"
    ));
    let products: Value =
        env.query("select coalesce(jsonb_agg(attrs), '[]') from {s}.products")[0].get(0);
    let mut customers: Value =
        env.query("select coalesce(jsonb_agg(attrs), '[]') from {s}.customers")[0].get(0);
    customers[0]["email"] = Value::String("no at sign".into());
    let run = tick(&mut env.db);
    env.db
        .query_one("select stripe_fdw.sync_start('acct', $1, null)", &[&run])
        .expect("sync_start");
    for (object, data) in [("products", products), ("customers", customers)] {
        let page = serde_json::json!({"data": data, "has_more": false});
        env.db
            .query_one(
                "select stripe_fdw.sync_page('acct', $1, $2, $3)",
                &[&object, &page, &run],
            )
            .unwrap_or_else(|e| panic!("sync_page {object}: {}", describe(&e)));
    }
    let r: Value = env
        .db
        .query_one("select stripe_fdw.sync_finish('acct')", &[])
        .unwrap_or_else(|e| panic!("sync_finish: {}", describe(&e)))
        .get(0);
    assert!(
        r["error"]
            .as_str()
            .unwrap_or_default()
            .contains("email_has_at"),
        "{r}"
    );
    let status = env.query(&format!(
        "select target::text, synced_at is not null, last_error is not null from stripe_fdw.sync_status
          where target::text like '{js}.%' order by 1"
    ));
    let got: Vec<(String, bool, bool)> = status
        .iter()
        .map(|x| (x.get(0), x.get(1), x.get(2)))
        .collect();
    assert_eq!(
        got,
        vec![
            (format!("{js}.customers"), false, true),
            (format!("{js}.products"), true, false)
        ],
        "the failing group is recorded, the other applied"
    );
    let plan: Value = env.query("select stripe_fdw.worker_plan('acct')")[0].get(0);
    assert_eq!(
        plan["do"], "catch_up",
        "the read is over; the failed target waits for the next reconciliation: {plan}"
    );
}
