//! The Next.js subscription starter (vercel/nextjs-subscription-payments) as a sync target: its
//! products and prices created by its own migrations, kept by the recipe of docs/sync.md.
#![allow(dead_code)]

use e2e::*;

/// The products and prices parts of `supabase/migrations/20230530034630_init.sql` (the users,
/// customers and subscriptions tables need Supabase's `auth` schema and are left out), then
/// `supabase/migrations/20240105210253_update.sql`'s change to prices. Run in `public` of a
/// database of the test's own, as the starter runs them.
pub const MIGRATIONS: &str = r#"
create table products (
  -- Product ID from Stripe, e.g. prod_1234.
  id text primary key,
  active boolean,
  name text,
  description text,
  image text,
  metadata jsonb
);
alter table products enable row level security;
create policy "Allow public read-only access." on products for select using (true);

create type pricing_type as enum ('one_time', 'recurring');
create type pricing_plan_interval as enum ('day', 'week', 'month', 'year');
create table prices (
  -- Price ID from Stripe, e.g. price_1234.
  id text primary key,
  product_id text references products, 
  active boolean,
  description text,
  unit_amount bigint,
  currency text check (char_length(currency) = 3),
  type pricing_type,
  interval pricing_plan_interval,
  interval_count integer,
  trial_period_days integer,
  metadata jsonb
);
alter table prices enable row level security;
create policy "Allow public read-only access." on prices for select using (true);

drop publication if exists supabase_realtime;
create publication supabase_realtime for table products, prices;

-- 20240105210253_update.sql
alter table "public"."prices" drop column "description";
alter table "public"."prices" drop column "metadata";
"#;

/// What PostgREST 12 runs for supabase-js's
/// `from('products').select('*, prices(*)').eq('active', true).eq('prices.active', true)
///  .order('metadata->index').order('unit_amount', { referencedTable: 'prices' })`
/// (the starter's getProducts), built as its QueryBuilder/SqlFragment build it (filter values
/// inlined instead of sent as parameters).
pub const POSTGREST_GET_PRODUCTS: &str = r#"WITH pgrst_source AS ( SELECT "public"."products".*, COALESCE( "products_prices_1"."products_prices_1", '[]') AS "prices" FROM "public"."products" LEFT JOIN LATERAL ( SELECT json_agg("products_prices_1")::jsonb AS "products_prices_1" FROM (SELECT "prices_1".* FROM "public"."prices" AS "prices_1"  WHERE  "prices_1"."active" = 'true' AND "prices_1"."product_id" = "public"."products"."id"    ORDER BY "prices_1"."unit_amount" ASC ) AS "products_prices_1" ) AS "products_prices_1" ON TRUE WHERE  "public"."products"."active" = 'true'    ORDER BY "public"."products"."metadata"->'index' ASC ) SELECT null::bigint AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, coalesce(json_agg(_postgrest_t), '[]') AS body, nullif(current_setting('response.headers', true), '') AS response_headers, nullif(current_setting('response.status', true), '') AS response_status, '' AS response_inserted FROM ( SELECT * FROM pgrst_source ) _postgrest_t"#;

/// The SQL of docs/sync.md's recipe block (the fenced block after the line
/// `<!-- tested: tests/e2e/tests/sync.rs -->`), with `stripe.` (the foreign tables' schema) made
/// this test's `{s}.`.
pub fn recipe() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/sync.md");
    let doc = std::fs::read_to_string(path).expect("docs/sync.md");
    let after = doc
        .split("<!-- tested: tests/e2e/tests/sync.rs -->")
        .nth(1)
        .expect("the tested recipe marker in docs/sync.md");
    let block = after
        .split("```sql")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a ```sql block after the marker");
    block.replace("'stripe.", "'{s}.")
}

/// An Env in a database of its own with the starter's tables, the `anon` role Supabase has (with
/// Supabase's default grants on public tables), and the recipe's two create_sync calls (not yet
/// synced: the recipe's `call stripe_fdw.sync()` is left to the test).
pub fn starter(catalog: Catalog) -> Env {
    let mut env = Env::in_own_database(catalog);
    env.exec(MIGRATIONS);
    env.exec(
        "do $$ begin create role anon nologin;
         exception when duplicate_object or unique_violation then null; end $$;
         grant usage on schema public to anon;
         grant all on public.products, public.prices to anon;",
    );
    let recipe = recipe();
    let (register, _) = recipe
        .split_once("call stripe_fdw.sync();")
        .expect("the recipe calls stripe_fdw.sync()");
    env.exec(register);
    env
}

/// The product id of the product named `name` in Stripe (read live).
pub fn product_id(env: &mut Env, name: &str) -> String {
    env.strings(&format!(
        "select id from {{s}}.products where name = '{name}'"
    ))
    .remove(0)
}

/// One starter product as a row of text (`{image}`: the image column or expression).
const PRODUCT_ROW: &str =
    "format('%s|%s|%s|%s|%s|%s', id, active, name, description, {image}, metadata)";
/// One starter price as a row of text.
const PRICE_ROW: &str = "format('%s|%s|%s|%s|%s|%s|%s|%s|%s', id, {product}, active, unit_amount, currency, type, {interval}, {count}, {trial})";

/// Stripe's products and prices (the foreign tables of `env`, read live), mapped as the recipe
/// maps them, as rows of text ordered by id.
pub fn live_rows(env: &mut Env) -> [Vec<String>; 2] {
    let products = env.strings(&format!(
        "select {} from {{s}}.products order by id",
        PRODUCT_ROW.replace("{image}", "images[1]")
    ));
    let prices = env.strings(&format!(
        "select {} from {{s}}.prices order by id",
        PRICE_ROW
            .replace("{product}", "product")
            .replace("{interval}", "recurring_interval")
            .replace("{count}", "recurring_interval_count")
            .replace("{trial}", "coalesce(trial_period_days, 0)")
    ));
    [products, prices]
}

/// The starter's `public.products` and `public.prices` of database `db`, in the same form.
pub fn synced_rows(db: &mut postgres::Client) -> [Vec<String>; 2] {
    let rows = |db: &mut postgres::Client, sql: String| -> Vec<String> {
        db.query(sql.as_str(), &[])
            .unwrap_or_else(|e| panic!("{sql}: {}", describe(&e)))
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    let products = rows(
        db,
        format!(
            "select {} from public.products order by id",
            PRODUCT_ROW.replace("{image}", "image")
        ),
    );
    let prices = rows(
        db,
        format!(
            "select {} from public.prices order by id",
            PRICE_ROW
                .replace("{product}", "product_id")
                .replace("{interval}", "interval")
                .replace("{count}", "interval_count")
                .replace("{trial}", "trial_period_days")
        ),
    );
    [products, prices]
}

/// The starter's products and prices as rows of text, ordered by id: from Stripe (live, mapped as
/// the recipe maps them) and from the synced tables.
pub fn live_and_synced(env: &mut Env) -> [Vec<String>; 4] {
    let [live_products, live_prices] = live_rows(env);
    let [synced_products, synced_prices] = synced_rows(&mut env.db);
    [live_products, synced_products, live_prices, synced_prices]
}

/// (inserted, updated, deleted) of the last run for `table` (products or prices), from sync_status.
pub fn counts(env: &mut Env, table: &str) -> (i64, i64, i64) {
    let r = env.query(&format!(
        "select inserted, updated, deleted from stripe_fdw.sync_status where target = 'public.{table}'::regclass"
    ));
    (r[0].get(0), r[0].get(1), r[0].get(2))
}

/// `(id, change)` of sync_drift for `public.<table>`.
pub fn drift(env: &mut Env, table: &str) -> Vec<(String, String)> {
    env.query(&format!(
        "select id, change from stripe_fdw.sync_drift('public.{table}')"
    ))
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

/// A Stripe API call that must succeed; returns the object.
pub fn stripe_ok(env: &Env, method: &str, path: &str, form: &str) -> serde_json::Value {
    let (status, body) = env.stripe(method, path, form);
    assert_eq!(status, 200, "{method} {path} {form}: {body}");
    body
}

/// Create an object in Stripe (`path` `/products` or `/prices`); returns its id.
pub fn create(env: &Env, path: &str, form: &str) -> String {
    stripe_ok(env, "POST", path, form)["id"]
        .as_str()
        .expect("an id")
        .to_string()
}
