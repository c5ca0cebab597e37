//! The Next.js subscription starter's own tables kept by create_sync / sync(): the recipe of
//! docs/sync.md on its migrations, read the way supabase-js reads it, and the seed's scenarios
//! (first deploy, changes while the app was down, a sync with nothing to do).
//!
//! Each test has a database of its own: `call stripe_fdw.sync()` syncs every target of a database.

mod starter;

use e2e::*;
use serde_json::Value;
use starter::*;

#[test]
fn first_deploy_one_sync_fills_the_starters_tables_and_supabase_js_reads_them_as_anon() {
    let mut env = starter(Catalog::Demo);
    // A product image, so that `image = images[1]` is seen at work.
    let hobby = product_id(&mut env, "Hobby");
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "images[0]=https%3A%2F%2Fexample.com%2Fhobby.png&images[1]=https%3A%2F%2Fexample.com%2Fb.png",
    );
    let live_products: i64 = env.query("select count(*) from {s}.products")[0].get(0);
    let live_prices: i64 = env.query("select count(*) from {s}.prices")[0].get(0);
    assert_eq!((live_products, live_prices), (4, 9));

    // Empty after the deploy: everything is "added".
    let d = drift(&mut env, "products");
    assert_eq!(d.len(), 4);
    assert!(d.iter().all(|(_, c)| c == "added"), "{d:?}");

    env.exec("call stripe_fdw.sync();");
    assert_eq!(counts(&mut env, "products"), (4, 0, 0));
    assert_eq!(counts(&mut env, "prices"), (9, 0, 0));
    let st = env.query(
        "select count(*), bool_and(synced_at is not null and age >= '0' and duration > '0' and last_error is null)
           from stripe_fdw.sync_status",
    );
    assert_eq!(st[0].get::<_, i64>(0), 2);
    assert!(st[0].get::<_, bool>(1));

    // The tables equal Stripe, row by row.
    let [lp, sp, lx, sx] = live_and_synced(&mut env);
    assert_eq!(lp, sp);
    assert_eq!(lx, sx);
    assert!(drift(&mut env, "products").is_empty());
    assert!(drift(&mut env, "prices").is_empty());
    let image: Option<String> = env.query(&format!(
        "select image from public.products where id = '{hobby}'"
    ))[0]
        .get(0);
    assert_eq!(image.as_deref(), Some("https://example.com/hobby.png"));

    // The starter's getProducts(), as PostgREST runs it for the anon key.
    env.exec("begin; set local role anon;");
    let body: Value = env.query(POSTGREST_GET_PRODUCTS)[0].get("body");
    let denied = env.error("insert into public.products (id) values ('prod_by_anon')");
    env.exec("rollback");
    assert_eq!(
        denied.code, "42501",
        "RLS keeps the tables read-only: {denied:?}"
    );
    let products = body.as_array().expect("a JSON array");
    let names: Vec<&str> = products
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Hobby", "Pro", "Team"], "active, by metadata.index");
    let amounts = |p: &Value| -> Vec<i64> {
        p["prices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["unit_amount"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(amounts(&products[0]), [900, 9000]);
    assert_eq!(amounts(&products[1]), [2700, 2900, 29000]);
    assert_eq!(amounts(&products[2]), [9900, 49900, 99000]);
    assert_eq!(products[0]["image"], "https://example.com/hobby.png");
    assert_eq!(products[1]["metadata"]["index"], "1");
    let pro_monthly = &products[1]["prices"][1];
    assert_eq!(pro_monthly["product_id"], products[1]["id"]);
    assert_eq!(pro_monthly["type"], "recurring");
    assert_eq!(pro_monthly["interval"], "month");
    assert_eq!(pro_monthly["interval_count"], 1);
    assert_eq!(pro_monthly["trial_period_days"], 0);
    assert_eq!(pro_monthly["currency"], "usd");
    let setup_fee = &products[2]["prices"][1];
    assert_eq!(setup_fee["type"], "one_time");
    assert_eq!(setup_fee["interval"], Value::Null);

    // The starter's schema, as its migrations left it.
    let published = env.strings(
        "select tablename::text from pg_publication_tables where pubname = 'supabase_realtime' order by 1",
    );
    assert_eq!(published, ["prices", "products"]);
    let cols = env.strings(
        "select string_agg(attname::text, ',' order by attnum) from pg_attribute
          where attrelid = 'public.prices'::regclass and attnum > 0 and not attisdropped",
    );
    assert_eq!(
        cols,
        ["id,product_id,active,unit_amount,currency,type,interval,interval_count,trial_period_days"]
    );
}

/// A log of every row written to the starter's tables, by a trigger: what Realtime would see.
fn log_writes(env: &mut Env) {
    env.exec(
        "create table public.writes (n serial, tbl text, op text, id text);
         create function public.log_write() returns trigger language plpgsql as $$
         begin
           insert into public.writes (tbl, op, id)
           values (tg_table_name, tg_op, case when tg_op = 'DELETE' then old.id else new.id end);
           return null;
         end $$;
         create trigger log_write after insert or update or delete on public.products
           for each row execute function public.log_write();
         create trigger log_write after insert or update or delete on public.prices
           for each row execute function public.log_write();",
    );
}

fn writes(env: &mut Env) -> Vec<String> {
    env.strings("select tbl || ' ' || op || ' ' || id from public.writes order by tbl, op, id")
}

#[test]
fn changes_while_the_app_was_down_are_named_by_sync_drift_and_applied_by_one_sync() {
    let mut env = starter(Catalog::Demo);
    // An add-on with no prices yet, known to the app before it went down.
    let addon = create(&env, "/products", "name=Add-on&metadata[index]=9");
    env.exec("call stripe_fdw.sync()");
    assert_eq!(counts(&mut env, "products"), (5, 0, 0));
    let hobby = product_id(&mut env, "Hobby");
    let team = product_id(&mut env, "Team");
    let pro = product_id(&mut env, "Pro");
    let pro_xmin = env.strings(&format!(
        "select xmin::text from public.products where id = '{pro}'"
    ));
    log_writes(&mut env);

    // While the app is down: a rename, an archive, a new product with two prices, a delete.
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "name=Hobby+Plus",
    );
    stripe_ok(&env, "POST", &format!("/products/{team}"), "active=false");
    let ent = create(&env, "/products", "name=Enterprise&metadata[index]=3");
    let mut new_prices = [
        create(&env, "/prices", &format!("product={ent}&currency=usd&unit_amount=49900&recurring[interval]=month&recurring[trial_period_days]=14")),
        create(&env, "/prices", &format!("product={ent}&currency=usd&unit_amount=499000&recurring[interval]=year")),
    ];
    new_prices.sort();
    let (status, _) = env.stripe("DELETE", &format!("/products/{addon}"), "");
    assert_eq!(status, 200);

    let mut expected = vec![
        (hobby.clone(), "changed".to_string()),
        (team.clone(), "changed".to_string()),
        (ent.clone(), "added".to_string()),
        (addon.clone(), "removed".to_string()),
    ];
    expected.sort();
    assert_eq!(drift(&mut env, "products"), expected);
    let added: Vec<(String, String)> = new_prices
        .iter()
        .map(|p| (p.clone(), "added".to_string()))
        .collect();
    assert_eq!(drift(&mut env, "prices"), added);
    assert!(writes(&mut env).is_empty(), "sync_drift writes nothing");

    env.exec("call stripe_fdw.sync()");
    assert_eq!(counts(&mut env, "products"), (1, 2, 1));
    assert_eq!(counts(&mut env, "prices"), (2, 0, 0));
    let mut want = vec![
        format!("products DELETE {addon}"),
        format!("products INSERT {ent}"),
        format!("products UPDATE {hobby}"),
        format!("products UPDATE {team}"),
        format!("prices INSERT {}", new_prices[0]),
        format!("prices INSERT {}", new_prices[1]),
    ];
    want.sort();
    let mut got = writes(&mut env);
    got.sort();
    assert_eq!(got, want, "exactly the changes were written, nothing else");
    let [lp, sp, lx, sx] = live_and_synced(&mut env);
    assert_eq!(lp, sp);
    assert_eq!(lx, sx);
    assert!(drift(&mut env, "products").is_empty());
    assert!(drift(&mut env, "prices").is_empty());
    let after = env.strings(&format!(
        "select xmin::text from public.products where id = '{pro}'"
    ));
    assert_eq!(pro_xmin, after, "an unchanged row is not rewritten");
    let trial: i32 = env.query(&format!(
        "select trial_period_days from public.prices where id = '{}' or id = '{}' order by unit_amount limit 1",
        new_prices[0], new_prices[1]
    ))[0]
        .get(0);
    assert_eq!(trial, 14);
}

#[test]
fn a_second_sync_with_nothing_changed_writes_nothing() {
    let mut env = starter(Catalog::Demo);
    env.exec("call stripe_fdw.sync()");
    let first: String =
        env.query("select max(synced_at)::text from stripe_fdw.sync_status")[0].get(0);
    let xmins = "select string_agg(id || ':' || xmin::text, ',' order by id) from (
                   select id, xmin from public.products union all select id, xmin from public.prices) x";
    let before = env.strings(xmins);
    log_writes(&mut env);

    env.exec("call stripe_fdw.sync()");
    assert_eq!(env.strings(xmins), before, "xmin of every row unchanged");
    assert!(writes(&mut env).is_empty(), "no trigger fired");
    assert_eq!(counts(&mut env, "products"), (0, 0, 0));
    assert_eq!(counts(&mut env, "prices"), (0, 0, 0));
    let second: String =
        env.query("select max(synced_at)::text from stripe_fdw.sync_status")[0].get(0);
    assert!(second > first, "synced_at moves on: {first} -> {second}");
}

#[test]
fn rows_stripe_does_not_have_go_children_first_and_the_apps_own_columns_stay() {
    let mut env = starter(Catalog::Demo);
    // Left over from another Stripe account (say test mode before going live): a product and its
    // price. The price must go before the product, or the foreign key refuses.
    env.exec(
        "insert into public.products (id, name, active) values ('prod_old', 'Old', true);
         insert into public.prices (id, product_id, active, currency) values ('price_old', 'prod_old', true, 'usd');
         alter table public.products add column featured bool default false;",
    );
    env.exec("call stripe_fdw.sync()");
    assert_eq!(counts(&mut env, "products"), (4, 0, 1));
    assert_eq!(counts(&mut env, "prices"), (9, 0, 1));
    let left: i64 =
        env.query("select count(*) from public.products where id = 'prod_old'")[0].get(0);
    assert_eq!(left, 0);
    // A column of the app's own, not in Stripe: its default on insert, untouched by sync.
    let hobby = product_id(&mut env, "Hobby");
    env.exec(&format!(
        "update public.products set featured = true where id = '{hobby}'"
    ));
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "description=Now+with+more",
    );
    env.exec("call stripe_fdw.sync()");
    let r = env.query(&format!(
        "select featured, description from public.products where id = '{hobby}'"
    ));
    assert!(r[0].get::<_, bool>(0));
    assert_eq!(r[0].get::<_, String>(1), "Now with more");
    let featured: i64 = env.query("select count(*) from public.products where featured")[0].get(0);
    assert_eq!(featured, 1);
}

#[test]
fn one_target_alone_is_refused_a_missing_parent_and_a_reimported_source_keeps_the_registration() {
    let mut env = starter(Catalog::Demo);
    env.exec("call stripe_fdw.sync()");
    let ent = create(&env, "/products", "name=Enterprise");
    create(
        &env,
        "/prices",
        &format!("product={ent}&currency=usd&unit_amount=100"),
    );

    // prices alone: its new price's product is not in public.products yet.
    let err = env.error("call stripe_fdw.sync('public.prices')");
    assert_eq!(err.code, "23503", "{err:?}");
    assert!(
        err.detail.clone().unwrap_or_default().contains(&ent),
        "{err:?}"
    );
    assert!(
        err.hint
            .clone()
            .unwrap_or_default()
            .contains("foreign-key order"),
        "{err:?}"
    );
    let st = env.query("select last_error is null from stripe_fdw.sync_status where target = 'public.products'::regclass");
    assert!(
        st[0].get::<_, bool>(0),
        "only the target of the call records the error"
    );

    // Dropping and importing the foreign tables again (new OIDs) keeps the registrations.
    env.exec("drop schema {s} cascade");
    let err = env.error("call stripe_fdw.sync()");
    assert_eq!(err.code, "42P01", "{err:?}");
    assert!(err.message.contains("no longer exists"), "{err:?}");
    env.exec("create schema {s}; import foreign schema stripe from server {server} into {s};");
    env.exec("call stripe_fdw.sync()");
    assert_eq!(counts(&mut env, "products"), (1, 0, 0));
    assert_eq!(counts(&mut env, "prices"), (1, 0, 0));
}
