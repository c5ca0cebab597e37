//! create_cache() on foreign tables that declare any subset of the columns (issue 10 item 3):
//! the catalog takes each field from its column, else from attrs, else leaves it out.

use e2e::*;

/// Foreign tables of this test's server in schema `{s}_{suffix}`, dropped (with their caches in
/// `{s}_{suffix}_cache`) at the end.
struct Subset<'a> {
    env: &'a mut Env,
    schema: String,
}

impl<'a> Subset<'a> {
    fn new(env: &'a mut Env, suffix: &str, products: &str, prices: &str) -> Subset<'a> {
        let schema = format!("{}_{suffix}", env.s);
        let mut ddl = format!("create schema {schema};");
        if !products.is_empty() {
            ddl += &format!(
                "create foreign table {schema}.products ({products}) server {{server}} options (object 'products', rowid_column 'id');"
            );
        }
        if !prices.is_empty() {
            ddl += &format!(
                "create foreign table {schema}.prices ({prices}) server {{server}} options (object 'prices', rowid_column 'id');"
            );
        }
        env.exec(&ddl);
        Subset { env, schema }
    }

    /// create_cache() into `<schema>_cache`, then refresh every cache made; returns their names.
    fn cache(&mut self) -> Vec<String> {
        let s = &self.schema;
        let made = self.env.strings(&format!(
            "select stripe_fdw.create_cache('{s}', '{s}_cache')::text order by 1"
        ));
        for m in &made {
            self.env
                .exec(&format!("call stripe_fdw.refresh_cache('{m}')"));
        }
        made
    }

    fn catalog_columns(&mut self) -> Vec<String> {
        let s = &self.schema;
        self.env.strings(&format!(
            "select attname::text from pg_attribute where attrelid = '{s}_cache.catalog'::regclass
              and attnum > 0 order by attnum"
        ))
    }
}

impl Drop for Subset<'_> {
    fn drop(&mut self) {
        let s = &self.schema;
        let _ = self.env.db.batch_execute(&format!(
            "delete from stripe_fdw.cache_registry where cache_schema = '{s}_cache';
             drop schema if exists {s}_cache cascade; drop schema if exists {s} cascade;"
        ));
    }
}

/// Every catalog row as one jsonb array, ordered as the view orders them.
fn catalog_json(env: &mut Env, schema: &str) -> serde_json::Value {
    env.query(&format!(
        "select coalesce(jsonb_agg(to_jsonb(c)), '[]') from {schema}.catalog c"
    ))[0]
        .get(0)
}

#[test]
fn wrappers_columns_with_attrs_give_the_same_catalog_as_every_column() {
    let mut env = Env::new(Catalog::Demo);
    // The full tables of IMPORT FOREIGN SCHEMA: the reference catalog.
    let full = {
        let mut all = Subset::new(&mut env, "all", "", "");
        all.env.exec(&format!(
            "import foreign schema stripe from server {{server}} into {}",
            all.schema
        ));
        all.cache();
        let schema = format!("{}_cache", all.schema);
        catalog_json(all.env, &schema)
    };
    assert_eq!(full.as_array().map(Vec::len), Some(3), "{full}");
    // Supabase Wrappers' documented columns (with the types stripe_fdw reads today): no images,
    // metadata, marketing_features, recurring_*, lookup_key, nickname: all from attrs.
    let mut w = Subset::new(
        &mut env,
        "wrappers",
        "id text, name text, active bool, default_price text, description text,
         created timestamptz, updated timestamptz, attrs jsonb",
        "id text, active bool, currency text, product text, unit_amount bigint, type text,
         created timestamptz, attrs jsonb",
    );
    let made = w.cache();
    assert_eq!(made.len(), 2);
    let schema = format!("{}_cache", w.schema);
    assert_eq!(catalog_json(w.env, &schema), full);
    assert_eq!(
        w.catalog_columns(),
        vec![
            "id",
            "name",
            "description",
            "images",
            "metadata",
            "marketing_features",
            "default_price",
            "sort_index",
            "prices"
        ]
    );
}

#[test]
fn without_attrs_the_catalog_leaves_out_what_the_tables_lack() {
    let mut env = Env::new(Catalog::Demo);
    let mut t = Subset::new(
        &mut env,
        "bare",
        "name text, id text",
        "unit_amount bigint, product text, id text",
    );
    assert_eq!(t.cache().len(), 2);
    assert_eq!(
        t.catalog_columns(),
        vec!["id", "name", "sort_index", "prices"]
    );
    let schema = format!("{}_cache", t.schema);
    let rows = t.env.query(&format!(
        "select name, sort_index, prices from {schema}.catalog"
    ));
    // No active column: archived products and prices are not told apart, so all are listed.
    let names: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(names, vec!["Hobby", "Legacy", "Pro", "Team"], "by name");
    for r in &rows {
        assert_eq!(r.get::<_, Option<i64>>(1), None);
        let prices: serde_json::Value = r.get(2);
        let prices = prices.as_array().expect("an array");
        let amounts: Vec<i64> = prices
            .iter()
            .map(|p| {
                let keys: Vec<&String> = p.as_object().expect("an object").keys().collect();
                assert_eq!(keys, vec!["id", "unit_amount"], "{p}");
                p["unit_amount"].as_i64().unwrap_or(i64::MAX)
            })
            .collect();
        assert!(amounts.windows(2).all(|w| w[0] <= w[1]), "{amounts:?}");
    }
}

#[test]
fn a_table_with_neither_id_nor_attrs_is_cached_and_refreshed_whole() {
    let mut env = Env::new(Catalog::Demo);
    let mut t = Subset::new(&mut env, "noid", "name text, active bool", "");
    let made = t.cache();
    assert_eq!(made, vec![format!("{}_cache.products", t.schema)]);
    let schema = t.schema.clone();
    let live: i64 = t
        .env
        .query(&format!("select count(*) from {schema}.products"))[0]
        .get(0);
    for _ in 0..2 {
        t.env.exec(&format!(
            "call stripe_fdw.refresh_cache('{schema}_cache.products')"
        ));
        let cached: i64 = t
            .env
            .query(&format!("select count(*) from {schema}_cache.products"))[0]
            .get(0);
        assert_eq!(cached, live, "replaced, not appended");
    }
}

/// A foreign table without `id`: the cache is keyed by `attrs->>'id'` (its unique index, and what
/// cache_drift compares by), and refreshed whole, since REFRESH ... CONCURRENTLY needs a unique
/// index on a plain column.
#[test]
fn a_table_without_id_is_matched_by_attrs_id_and_refreshed_whole() {
    let mut env = Env::new(Catalog::Demo);
    let mut t = Subset::new(&mut env, "attrs", "name text, attrs jsonb", "");
    assert_eq!(t.cache().len(), 1);
    let schema = t.schema.clone();
    let cache = format!("{schema}_cache.products");
    let drift = |env: &mut Env| -> Vec<(String, String)> {
        env.query(&format!(
            "select id, change from stripe_fdw.cache_drift('{cache}')"
        ))
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
    };
    assert_eq!(
        t.env.strings(&format!(
            "select indexdef from pg_indexes where schemaname = '{schema}_cache' and indexname = 'products_id_key'"
        )),
        vec![format!(
            "CREATE UNIQUE INDEX products_id_key ON {schema}_cache.products USING btree (((attrs ->> 'id'::text)))"
        )]
    );
    assert_eq!(
        t.env.strings(&format!(
            "select stripe_fdw._refreshes_concurrently('{cache}')::text"
        )),
        vec!["false"]
    );
    let count =
        |env: &mut Env| -> i64 { env.query(&format!("select count(*) from {cache}"))[0].get(0) };
    assert_eq!(count(t.env), 4);
    assert!(drift(t.env).is_empty());

    let hobby = t
        .env
        .strings(&format!(
            "select attrs->>'id' from {cache} where name = 'Hobby'"
        ))
        .remove(0);
    let (status, _) = t
        .env
        .stripe("POST", &format!("/products/{hobby}"), "name=Hobby+Two");
    assert_eq!(status, 200);
    let (status, body) = t.env.stripe("POST", "/products", "name=Added");
    assert_eq!(status, 200);
    let added = body["id"].as_str().expect("new product id").to_string();
    let mut want = vec![
        (hobby.clone(), "changed".to_string()),
        (added.clone(), "added".to_string()),
    ];
    want.sort();
    assert_eq!(drift(t.env), want);

    t.env
        .exec(&format!("call stripe_fdw.refresh_cache('{cache}')"));
    assert!(drift(t.env).is_empty());
    assert_eq!(count(t.env), 5);
    assert_eq!(
        t.env.strings(&format!(
            "select name from {cache} where attrs->>'id' = '{hobby}'"
        )),
        vec!["Hobby Two"]
    );
    assert_eq!(
        t.env.strings(&format!(
            "select row_count::text from stripe_fdw.cache_status where object = '{cache}'"
        )),
        vec!["5"]
    );
}
