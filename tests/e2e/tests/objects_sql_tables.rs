//! stripe_fdw.create_object_tables(): one ordinary table per object, with the columns and types of
//! the foreign table IMPORT FOREIGN SCHEMA makes and id as primary key, that the foreign table's
//! rows go into through stripe_fdw._object_row; what it refuses.

mod listing;

use e2e::{Catalog, Env};
use listing::needed;
use stripe_fdw_core::objects::ALL;
use stripe_fdw_core::spec::{quote_ident, quote_literal, ObjectSpec};

/// The columns of relation `rel`: name and type, in order.
fn columns(env: &mut Env, rel: &str) -> Vec<String> {
    env.strings(&format!(
        "select attname || ' ' || format_type(atttypid, atttypmod) from pg_attribute
          where attrelid = {}::regclass and attnum > 0 and not attisdropped order by attnum",
        quote_literal(rel)
    ))
}

#[test]
fn create_object_tables_makes_the_foreign_tables_columns() {
    let mut env = Env::new(Catalog::Demo);
    let (status, _) = env.stripe("POST", "/customers", "email=erin%40example.com");
    assert_eq!(status, 200, "an event, for the events table");
    let target = format!("{}_tables", env.s);
    let with_id: Vec<&ObjectSpec> = ALL
        .iter()
        .copied()
        .filter(|o| o.column("id").is_some())
        .collect();
    assert_eq!(with_id.len(), ALL.len() - 1, "all but the balance");
    let list: Vec<String> = with_id.iter().map(|o| quote_literal(o.name)).collect();
    let made = env.strings(&format!(
        "select t::text from stripe_fdw.create_object_tables({}, array[{}]) t",
        quote_literal(&target),
        list.join(", ")
    ));
    let want: Vec<String> = with_id
        .iter()
        .map(|o| format!("{target}.{}", o.table))
        .collect();
    assert_eq!(made, want);
    for o in &with_id {
        let (table, foreign) = (
            format!("{target}.{}", o.table),
            format!("{}.{}", env.s, o.table),
        );
        assert_eq!(columns(&mut env, &table), columns(&mut env, &foreign));
        let key = env.strings(&format!(
            "select a.attname::text from pg_index i
               join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
              where i.indrelid = '{table}'::regclass and i.indisprimary"
        ));
        assert_eq!(key, ["id"], "{table}");
        let kind = env.strings(&format!(
            "select relkind::text from pg_class where oid = '{table}'::regclass"
        ));
        assert_eq!(kind, ["r"], "an ordinary table");
    }
    // The foreign tables' rows go into them through _object_row, and are the same rows.
    for o in &with_id {
        let cond = needed(&mut env, o.table);
        let (t, name) = (quote_ident(o.table), quote_literal(o.name));
        env.exec(&format!(
            "insert into {target}.{t}
             select r.* from {{s}}.{t} f,
                    jsonb_populate_record(null::{target}.{t}, stripe_fdw._object_row({name}, f.attrs)) r
              where {cond}"
        ));
        let n = env.query(&format!(
            "select (select count(*) from {target}.{t}),
                    (select count(*) from (select * from {target}.{t}
                                           except all select * from {{s}}.{t} f where {cond}) d)"
        ));
        let (rows, differ): (i64, i64) = (n[0].get(0), n[0].get(1));
        assert!(rows > 0, "{}", o.name);
        assert_eq!(differ, 0, "{}", o.name);
    }
    // Again: the tables made before are kept (a re-run migration succeeds).
    let again = env.strings(&format!(
        "select t::text from stripe_fdw.create_object_tables({}, array['prices', 'products', 'prices']) t",
        quote_literal(&target)
    ));
    assert_eq!(
        again,
        [format!("{target}.prices"), format!("{target}.products")]
    );
    // A table of that name without those columns is not taken for one.
    env.exec(&format!("create table {target}.customers_x (id text)"));
    env.exec(&format!("alter table {target}.customers rename to customers_y; alter table {target}.customers_x rename to customers"));
    let e = env.error(&format!(
        "select stripe_fdw.create_object_tables('{target}', array['customers'])"
    ));
    assert_eq!(e.code, "42P07", "{e:?}");
    assert!(e.detail.unwrap_or_default().contains("email text"));
    // Refused, and nothing made: the balance (no id), unknown objects, none at all.
    for (objects, code, says) in [
        ("array['prices', 'balance']", "22023", "balance"),
        (
            "array['prices', 'plans', 'checkout_sessions']",
            "22023",
            "\"plans\", \"checkout_sessions\"",
        ),
        ("array[]::text[]", "22023", "empty"),
        ("null", "22023", "empty"),
    ] {
        let e = env.error(&format!(
            "select stripe_fdw.create_object_tables('{target}_no', {objects})"
        ));
        assert_eq!(e.code, code, "{objects}: {e:?}");
        assert!(e.message.contains(says), "{objects}: {e:?}");
    }
    let none = env.strings(&format!(
        "select nspname::text from pg_namespace where nspname = '{target}_no'"
    ));
    assert!(none.is_empty());
    env.exec(&format!("drop schema {target} cascade"));
}

/// The defaults: schema stripe, the catalog and the customers' subscriptions.
#[test]
fn create_object_tables_defaults_to_the_catalog_in_schema_stripe() {
    let mut env = Env::in_own_database(Catalog::Empty);
    let made = env.strings("select t::text from stripe_fdw.create_object_tables() t");
    assert_eq!(
        made,
        [
            "stripe.products",
            "stripe.prices",
            "stripe.customers",
            "stripe.subscriptions"
        ]
    );
    for t in ["products", "prices", "customers", "subscriptions"] {
        let foreign = format!("{}.{t}", env.s);
        assert_eq!(
            columns(&mut env, &format!("stripe.{t}")),
            columns(&mut env, &foreign)
        );
    }
    env.notices.lock().map(|mut n| n.clear()).ok();
    let again = env.strings("select t::text from stripe_fdw.create_object_tables() t");
    assert_eq!(again, made);
    let notices = env.notices.lock().map(|n| n.clone()).unwrap_or_default();
    assert!(notices.is_empty(), "{notices:?}");
}
