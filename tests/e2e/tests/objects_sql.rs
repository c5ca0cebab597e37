//! sql/objects.sql (generated from the object declarations) against the foreign tables: every row
//! of every object the fake serves is `jsonb_populate_record(null::<table>,
//! stripe_fdw._object_row(<object>, attrs))`; values the fake cannot send convert as core's
//! `value::extract` does, and wrong shapes are its errors (HV004, the same message). The tables
//! create_object_tables() makes: objects_sql_tables.rs.

mod listing;

use e2e::{Catalog, Env};
use listing::needed;
use serde_json::{json, Value};
use stripe_fdw_core::objects::{self, ALL};
use stripe_fdw_core::pgtime::from_unix_secs;
use stripe_fdw_core::spec::{quote_ident, quote_literal, ColType, ObjectSpec};
use stripe_fdw_core::value::{extract, CellValue};

/// `array_remove(array[<'col' when the two rows differ in it>...], null)`: the columns of `o` in
/// which rows `f` and `r` differ.
fn differing(o: &ObjectSpec) -> String {
    let cases: Vec<String> = o
        .columns
        .iter()
        .map(|c| {
            let q = quote_ident(c.name);
            format!(
                "case when f.{q} is distinct from r.{q} then {} end",
                quote_literal(c.name)
            )
        })
        .collect();
    format!(
        "pg_catalog.array_remove(array[{}]::text[], null)",
        cases.join(", ")
    )
}

#[test]
fn every_row_of_every_object_is_object_row_of_its_attrs() {
    let mut env = Env::new(Catalog::Demo);
    // The seeded catalog has no events (it stands for objects older than 30 days): make one.
    let (status, _) = env.stripe("POST", "/customers", "email=erin%40example.com");
    assert_eq!(status, 200);
    for o in ALL {
        let cond = needed(&mut env, o.table);
        let sql = format!(
            "select count(*), coalesce(pg_catalog.string_agg(coalesce(f.attrs->>'id', f.attrs::text)
                      || ': ' || pg_catalog.array_to_string(d.cols, ', '), '; ')
                      filter (where pg_catalog.cardinality(d.cols) > 0), '')
               from {{s}}.{t} f
              cross join lateral jsonb_populate_record(null::{{s}}.{t},
                                                       stripe_fdw._object_row({name}, f.attrs)) r
              cross join lateral (select {diff} as cols) d
              where {cond}",
            t = quote_ident(o.table),
            name = quote_literal(o.name),
            diff = differing(o),
        );
        let row = &env.query(&sql)[0];
        let (rows, diffs): (i64, String) = (row.get(0), row.get(1));
        assert!(rows > 0, "{}: the fake serves none", o.name);
        assert_eq!(diffs, "", "{}: rows whose columns differ", o.name);
    }
    // The subscriptions' periods come from their first item (the current shape has none of its
    // own), and _object_row reads them there too.
    let from_items: i64 = env.query(
        "select count(*) from {s}.subscriptions
          where current_period_start is not null and current_period_end is not null
            and not attrs ? 'current_period_start'
            and current_period_start = (jsonb_populate_record(null::{s}.subscriptions,
                    stripe_fdw._object_row('subscriptions', attrs))).current_period_start",
    )[0]
    .get(0);
    assert!(from_items > 0, "a subscription whose period is its item's");
}

/// The SQL literal of what the foreign table shows for `v` in a column of type `ty`.
fn literal(v: &CellValue, ty: ColType) -> String {
    let typed = |s: String| format!("{s}::{}", ty.qualified_name());
    match v {
        CellValue::Null => typed("null".into()),
        CellValue::Text(s) => typed(quote_literal(s)),
        CellValue::Bool(b) => typed(b.to_string()),
        CellValue::Int8(n) => typed(quote_literal(&n.to_string())),
        CellValue::Numeric(s) => typed(quote_literal(s)),
        // Postgres' microseconds since 2000-01-01 UTC, as core's pgtime makes them: exact.
        CellValue::Timestamptz(secs) => match from_unix_secs(*secs) {
            Some(us) => format!(
                "(('2000-01-01 00:00:00'::timestamp + {} * interval '1 day' + {} * interval '1 microsecond') at time zone 'UTC')",
                us.div_euclid(86_400_000_000),
                us.rem_euclid(86_400_000_000)
            ),
            None => "'out of range'".into(),
        },
        CellValue::Json(j) => typed(quote_literal(&j.to_string())),
        CellValue::TextArray(items) => {
            let items: Vec<String> = items
                .iter()
                .map(|i| i.as_deref().map_or("null".into(), quote_literal))
                .collect();
            typed(format!("array[{}]::text[]", items.join(", ")))
        }
    }
}

/// `obj` as a row of `object`: through core's `extract`, column by column, and through
/// `_object_row`; the columns where they differ (none), or both errors.
fn compare(env: &mut Env, object: &str, obj: &Value) -> Result<(), (String, String)> {
    let o = objects::find(object).expect("object");
    let mut expected = Vec::new();
    let mut rust_error = None;
    for c in o.columns {
        match extract(obj, c) {
            Ok(v) => expected.push((c, v)),
            Err(e) => {
                rust_error = Some(e.to_string());
                break;
            }
        }
    }
    let checks: Vec<String> = expected
        .iter()
        .map(|(c, v)| {
            let q = quote_ident(c.name);
            format!(
                "case when r.{q} is distinct from {} then {} end",
                literal(v, c.ty),
                quote_literal(&format!("{}: {v:?}", c.name))
            )
        })
        .collect();
    let sql = format!(
        "select pg_catalog.array_to_string(array[{}]::text[], '; ')
           from jsonb_populate_record(null::{{s}}.{}, stripe_fdw._object_row({}, $1::jsonb)) r",
        checks.join(", "),
        quote_ident(o.table),
        quote_literal(o.name)
    );
    let sql = env.sql(&sql);
    let got = env.db.query(sql.as_str(), &[&obj]);
    match (got, rust_error) {
        (Ok(rows), None) => {
            let diff: String = rows[0].get(0);
            assert_eq!(diff, "", "{object} {obj}: columns that differ from core");
            Ok(())
        }
        (Err(e), Some(r)) => {
            let d = e2e::DbErr::from(&e);
            assert_eq!(d.code, "HV004", "{object} {obj}: {d:?}");
            Err((r, d.message))
        }
        (Ok(_), Some(r)) => panic!("{object} {obj}: core refuses it ({r}), SQL does not"),
        (Err(e), None) => panic!("{object} {obj}: SQL refuses it: {}", e2e::describe(&e)),
    }
}

#[test]
fn values_convert_as_core_converts_them() {
    let mut env = Env::new(Catalog::Empty);
    env.exec("set timezone = 'America/New_York'");
    let price = json!({
        "id": "price_1", "object": "price", "active": true, "currency": "usd",
        "unit_amount": -9223372036854775807i64, "unit_amount_decimal": "-0012.3400",
        "product": {"id": "prod_1", "object": "product", "name": "expanded"},
        "recurring": {"interval": "month", "interval_count": 1, "usage_type": null},
        "lookup_key": null, "nickname": "n\u{e9}e \"quoted\" \\ back", "created": -1,
        "metadata": {"k": "v"}, "custom_unit_amount": null
    });
    let cases = [
        ("prices", price.clone()),
        (
            "prices",
            json!({"id": "price_2", "unit_amount_decimal": 12.5, "recurring": null}),
        ),
        // Times far from now: before 1970, past 2255 (where to_timestamp(float8) is inexact),
        // chrono's last second, Postgres' first.
        ("prices", json!({"created": 9_000_000_001i64})),
        ("prices", json!({"created": 8_210_266_876_799i64})),
        ("prices", json!({"created": -210_866_803_200i64})),
        (
            "products",
            json!({"id": "prod_1", "images": ["a", null, "c"], "default_price": "price_1",
                           "tax_code": {"id": "txcd_1", "object": "tax_code"}}),
        ),
        ("products", json!({"id": "prod_2", "images": []})),
        // The current shape: the period on the first item; an older one: its own, which wins.
        (
            "subscriptions",
            json!({"id": "sub_1", "items": {"data": [
            {"current_period_start": 1_700_000_100, "current_period_end": 1_702_000_000,
             "price": {"id": "price_1"}, "quantity": 2},
            {"current_period_start": 1_700_000_200, "price": {"id": "price_2"}}]}}),
        ),
        (
            "subscriptions",
            json!({"id": "sub_2", "current_period_start": 1_600_000_000,
            "current_period_end": null,
            "items": {"data": [{"current_period_start": 1_700_000_100,
                                "current_period_end": 1_702_000_000}]}}),
        ),
        (
            "subscriptions",
            json!({"id": "sub_3", "current_period_start": null, "items": {"data": []}}),
        ),
        (
            "invoices",
            json!({"id": "in_1", "parent": {"subscription_details": {"subscription": "sub_1"}},
                           "lines": {"data": [{"id": "il_1"}]}}),
        ),
        (
            "events",
            json!({"id": "evt_1", "request": {"id": null}, "data": {"object": {"id": "x"}}}),
        ),
        (
            "balance",
            json!({"balance_type": "pending", "amount": 0, "currency": "usd",
                          "source_types": {"card": 0}}),
        ),
        (
            "balance_transactions",
            json!({"id": "txn_1", "exchange_rate": "1.0857"}),
        ),
        ("checkout/sessions", json!({"id": "cs_1"})),
    ];
    for (object, obj) in &cases {
        assert_eq!(compare(&mut env, object, obj), Ok(()), "{object} {obj}");
    }
}

#[test]
fn a_wrong_shape_is_cores_error_naming_the_column() {
    let mut env = Env::new(Catalog::Empty);
    let long = "\u{e9}".repeat(40);
    let bad = [
        ("prices", "unit_amount", json!("abc")),
        ("prices", "unit_amount", json!(5.5)),
        ("prices", "unit_amount", json!(5.0)),
        (
            "prices",
            "unit_amount",
            json!(12_345_678_901_234_567_890u64),
        ),
        ("prices", "unit_amount", json!(true)),
        ("prices", "active", json!("yes")),
        ("prices", "active", json!(1)),
        ("prices", "currency", json!(5)),
        ("prices", "currency", json!(["usd"])),
        // Cut to 57 characters past 60 bytes.
        ("prices", "unit_amount", json!(long)),
        ("prices", "unit_amount", json!("x".repeat(100))),
        ("prices", "product", json!({"id": 7})),
        ("prices", "unit_amount_decimal", json!("1e5")),
        ("prices", "unit_amount_decimal", json!("1.")),
        ("prices", "unit_amount_decimal", json!(" 1")),
        ("prices", "unit_amount_decimal", json!(false)),
        ("prices", "created", json!("1700000000")),
        ("prices", "created", json!(1.5)),
        ("prices", "created", json!(12_345_678_901_234_567_890u64)),
        ("products", "images", json!("a.png")),
        ("products", "images", json!(["a.png", 3, true])),
        ("products", "images", json!([null, {"url": "b"}])),
        ("subscriptions", "cancel_at_period_end", json!("no")),
    ];
    for (object, col, value) in &bad {
        let mut obj = json!({"id": "x_1"});
        obj[*col] = value.clone();
        let Err((core, sql)) = compare(&mut env, object, &obj) else {
            panic!("{object}.{col} = {value}: accepted");
        };
        assert!(
            sql.starts_with(&format!("column \"{col}\" expects ")),
            "{sql}"
        );
        // Objects and arrays are described in jsonb's spelling (`{"id": 7}`), core in serde's
        // (`{"id":7}`); everything else is the same message.
        if value.is_object() || value.is_array() {
            let cut = |m: &str| m.split(", but ").next().unwrap_or("").to_string();
            assert_eq!(cut(&sql), cut(&core));
        } else {
            assert_eq!(sql, core, "{object}.{col} = {value}");
        }
    }
    // A subscription's period past the item's, the fallback: the same error, the same column.
    let obj = json!({"items": {"data": [{"current_period_start": "soon"}]}});
    let (core, sql) = compare(&mut env, "subscriptions", &obj).expect_err("refused");
    assert_eq!(sql, core);
    assert!(sql.contains("\"current_period_start\""), "{sql}");
    // Times out of the range the foreign table converts: HV004, naming the column.
    for secs in [8_210_266_876_800i64, -210_866_803_201, i64::MAX, i64::MIN] {
        let e = env.error(&format!(
            "select stripe_fdw._object_row('prices', '{{\"created\": {secs}}}')"
        ));
        assert_eq!(e.code, "HV004", "{e:?}");
        assert_eq!(
            e.message,
            format!("column \"created\": timestamp {secs} is out of range")
        );
    }
    // Not an object; an object stripe_fdw does not know.
    let e = env.error("select stripe_fdw._object_row('prices', '[1]')");
    assert_eq!(e.code, "HV004", "{e:?}");
    let e = env.error("select stripe_fdw._object_row('checkout_sessions', '{}')");
    assert_eq!(e.code, "22023", "{e:?}");
    assert!(
        e.detail.unwrap_or_default().contains("checkout/sessions"),
        "the known ones are listed"
    );
    // jsonb cannot hold a NUL character: Stripe's JSON with one never reaches _object_row.
    let e = env.error(r#"select stripe_fdw._object_row('prices', '{"nickname": "a\u0000b"}')"#);
    assert_eq!(e.code, "22P05", "{e:?}");
}

#[test]
fn the_object_lists_are_the_declarations() {
    let mut env = Env::new(Catalog::Empty);
    let names = env.strings("select unnest(stripe_fdw._object_names())");
    assert_eq!(names, objects::names());
    for o in ALL {
        let row = &env.query(&format!(
            "select k.object_type, k.endpoint, k.listable, k.table_name,
                    stripe_fdw._listable(k.object),
                    (select count(*) from stripe_fdw._object_columns() c where c.object = k.object)
               from stripe_fdw._object_kinds() k where k.object = {}",
            quote_literal(o.name)
        ))[0];
        assert_eq!(row.get::<_, String>(0), o.object_type);
        assert_eq!(row.get::<_, String>(1), o.endpoint);
        assert_eq!(row.get::<_, bool>(2), row.get::<_, bool>(4));
        assert_eq!(row.get::<_, String>(3), o.table);
        assert_eq!(row.get::<_, i64>(5), o.columns.len() as i64);
    }
    let listable = env.strings(
        "select string_agg(object, ',' order by object) from stripe_fdw._object_kinds() where not listable",
    );
    assert_eq!(
        listable,
        ["mandates,setup_attempts,subscription_items,tokens"]
    );
    let row = &env.query(
        "select ids, ids_max, list_defaults from stripe_fdw._object_kinds() where object = 'products'
         union all
         select ids, ids_max, list_defaults from stripe_fdw._object_kinds() where object = 'subscriptions'",
    );
    assert_eq!(row[0].get::<_, Option<String>>(0).as_deref(), Some("ids[]"));
    assert_eq!(row[0].get::<_, Option<i32>>(1), Some(100));
    assert_eq!(
        row[1].get::<_, Option<String>>(0).as_deref(),
        Some("retrieve")
    );
    assert_eq!(row[1].get::<_, Value>(2), json!({"status": "all"}));
    assert!(!env.query("select stripe_fdw._listable('plans')")[0].get::<_, bool>(0));
}
