//! The cache's privilege hygiene (issue 9 item 7): pinned search_path, no cache squatting,
//! unambiguous registry names, and column names formatted once by cache_drift.

mod support;

use e2e::*;
use support::{unique, Scratch};

/// Functions a role with CREATE on public can plant, each a better match than pg_catalog's
/// (variadic "any" / polymorphic) for calls the extension makes. Each records the call and
/// makes the planting role superuser when a superuser runs it.
const TRAPS: &[(&str, &str, &str)] = &[
    ("format", "text, regclass", "text"),
    ("format", "text, text", "text"),
    ("format", "text, text, text", "text"),
    ("format", "text, text, regclass", "text"),
    ("format", "text, regclass, text", "text"),
    ("format", "text, text, oid", "text"),
    ("format", "text, text, text, oid", "text"),
    ("format", "text, text, text, text", "text"),
    ("format", "text, text, text, regclass, text, text", "text"),
    ("concat_ws", "text, text, text", "text"),
    ("array_to_string", "text[], text", "text"),
    ("cardinality", "text[]", "integer"),
];

#[test]
fn a_role_with_create_on_public_cannot_run_code_as_the_superuser_who_refreshes() {
    let mut scratch = Scratch::new(Catalog::Demo);
    let evil = unique("evil");
    let env = scratch.env();
    env.exec(&format!(
        "create role {evil} login;
         grant create on schema public to {evil};
         create table public.pwned (what text);
         grant insert on public.pwned to public;"
    ));
    env.exec(&format!("set role {evil}"));
    for (name, args, ret) in TRAPS {
        env.exec(&format!(
            "create function public.{name}({args}) returns {ret} language plpgsql as $f$
             begin
               insert into public.pwned values ('{name}({args})');
               begin execute 'alter role {evil} superuser'; exception when others then null; end;
               return null;
             end $f$"
        ));
    }
    env.exec("reset role");
    // The trap works on an unpinned call (rolled back: only a proof that the test can fail).
    env.exec("begin; select format('%s', 'pg_class'::regclass)");
    let sprung: i64 = env.query("select count(*) from public.pwned")[0].get(0);
    env.exec("rollback");
    assert_eq!(
        sprung, 1,
        "the planted format(text, regclass) catches plain calls"
    );

    // A superuser with the default search_path ("$user", public) uses the whole cache API.
    env.exec("set search_path = \"$user\", public");
    env.exec("select stripe_fdw.create_cache()");
    env.exec("call stripe_fdw.refresh_cache()");
    assert_eq!(
        env.strings("show search_path"),
        vec!["\"$user\", public"],
        "refresh_cache gives the caller's search_path back"
    );
    env.exec("call stripe_fdw.refresh_cache('stripe_cache.products')");
    env.query("select * from stripe_fdw.cache_drift('stripe_cache.products')");
    env.query("select * from stripe_fdw.cache_drift('prices')");
    env.query("select stripe_fdw.mark_cache_stale('products')");
    env.query("select * from stripe_fdw.cache_status");
    env.query("select * from stripe_cache.catalog");
    env.exec("call stripe_fdw.refresh_cache()");
    env.exec("begin; call stripe_fdw.refresh_cache(); commit");
    env.query("select stripe_fdw.create_cache()");

    let pwned = env.strings("select what from public.pwned");
    let superuser: bool = env.query(&format!(
        "select rolsuper from pg_roles where rolname = '{evil}'"
    ))[0]
        .get(0);
    assert!(pwned.is_empty(), "planted functions ran: {pwned:?}");
    assert!(!superuser, "{evil} became superuser");

    // Every function of the extension pins search_path; a procedure that COMMITs (PostgreSQL
    // forbids that with a SET clause), and an entry point that records the caller's search_path
    // for the app's triggers, pins it with stripe_fdw._pin() before its body runs (and gives it
    // back with stripe_fdw._finish(), whose body is all qualified). The column converters
    // stripe_fdw._cell_* (sql/objects.sql) carry no SET so that Postgres inlines them into
    // stripe_fdw._object_row: their bodies are all qualified, functions and operators alike.
    let extension_functions = "select p.oid::regprocedure::text, p.prosrc from pg_proc p
           join pg_depend d on d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e'
           join pg_extension e on e.oid = d.refobjid and e.extname = 'stripe_fdw'
          where not coalesce('search_path=pg_catalog, pg_temp' = any(p.proconfig), false)";
    let unpinned = env.strings(&format!(
        "select f.oid from ({extension_functions}) f(oid, prosrc)
          where not (f.prosrc like '%saved text := stripe_fdw._pin();%begin%')
            and not (f.prosrc like '%saved text := stripe_fdw._enter();%begin%')
            and f.oid not in ('stripe_fdw._pin()', 'stripe_fdw._enter()',
                              'stripe_fdw._finish(text,text,text,text,text)')
            and f.oid not like 'stripe\\_fdw.\\_cell\\_%'
          order by 1"
    ));
    assert_eq!(unpinned, Vec::<String>::new());
    let inlined = env.query(&format!(
        "select f.oid, f.prosrc from ({extension_functions}) f(oid, prosrc)
          where f.oid like 'stripe\\_fdw.\\_cell\\_%'"
    ));
    assert_eq!(inlined.len(), 6, "stripe_fdw._cell_*");
    for r in &inlined {
        let (name, src): (String, String) = (r.get(0), r.get(1));
        assert_eq!(unqualified(&src), Vec::<String>::new(), "{name}");
    }
    assert_eq!(
        unqualified(
            "select a = pg_catalog.f(x) operator(pg_catalog.->) 'it''s (x)', g(y)::text -- h("
        )
        .into_iter()
        .chain(unqualified("-1 - 1"))
        .collect::<Vec<_>>(),
        ["=", "g(", "-"],
        "the check finds what it looks for"
    );
    drop(scratch);
    connect()
        .batch_execute(&format!("drop role if exists {evil}"))
        .expect("drop role");
}

#[test]
fn create_cache_refuses_a_schema_or_relation_it_did_not_make_for_the_caller() {
    let mut scratch = Scratch::new(Catalog::Demo);
    let squat = unique("squat");
    let db = scratch.name.clone();
    let env = scratch.env();
    env.exec(&format!(
        "create role {squat} login; grant create on database {db} to {squat};
         grant usage on schema stripe to {squat};"
    ));
    // The scenario: a low-privileged role makes stripe_cache.products with its rows (a
    // materialized view, as the caches used to be).
    env.exec(&format!(
        "set role {squat};
         create schema stripe_cache;
         create materialized view stripe_cache.products as
           select 'prod_evil'::text as id, 'Free'::text as name, true as active;
         create unique index products_id_key on stripe_cache.products (id);
         reset role;"
    ));
    let err = env.error("select stripe_fdw.create_cache()");
    assert_eq!(err.code, "42P07", "{err:?}");
    assert!(err.message.contains("stripe_cache"), "{err:?}");
    assert!(
        err.message
            .contains("not made by stripe_fdw.create_cache()"),
        "{err:?}"
    );
    let n: i64 = env.query("select count(*) from stripe_fdw.cache_registry")[0].get(0);
    assert_eq!(n, 0, "nothing registered");
    let err = env.error("call stripe_fdw.refresh_cache('stripe_cache.products')");
    assert_eq!(err.code, "42704", "no such cache: {err:?}");

    // A schema the caller made by hand is not one create_cache made either.
    env.exec("create schema mine");
    let err = env.error("select stripe_fdw.create_cache('stripe', 'mine')");
    assert_eq!(err.code, "42P07", "{err:?}");

    // In the caller's own cache schema, a relation someone else slipped in is refused too.
    env.exec("select stripe_fdw.create_cache('stripe', 'c2')");
    env.exec(&format!(
        "grant create, usage on schema c2 to {squat};
         drop materialized view c2.products cascade;
         set role {squat};
         create materialized view c2.products as select 'prod_evil'::text as id;
         reset role;"
    ));
    let err = env.error("select stripe_fdw.create_cache('stripe', 'c2')");
    assert_eq!(err.code, "42P07", "{err:?}");
    assert!(err.message.contains("c2.products"), "{err:?}");
    drop(scratch);
    connect()
        .batch_execute(&format!(
            "drop owned by {squat}; drop role if exists {squat}"
        ))
        .expect("drop role");
}

#[test]
fn registry_names_tell_schema_a_dot_b_table_c_from_schema_a_table_b_dot_c() {
    let mut scratch = Scratch::new(Catalog::Demo);
    let env = scratch.env();
    env.exec(
        "create schema s1; create schema s2;
         create foreign table s1.c (id text, name text) server srv options (object 'products');
         create foreign table s2.\"b.c\" (id text, currency text) server srv options (object 'prices');",
    );
    let one = env.strings("select stripe_fdw.create_cache('s1', 'a.b')::text");
    let two = env.strings("select stripe_fdw.create_cache('s2', 'a')::text");
    assert_eq!(one, vec!["\"a.b\".c"]);
    assert_eq!(two, vec!["a.\"b.c\""]);
    let objects = env.strings("select object from stripe_fdw.cache_registry order by object");
    assert_eq!(objects, vec!["\"a.b\".c", "a.\"b.c\""]);
    env.exec("call stripe_fdw.refresh_cache('\"a.b\".c')");
    env.exec("call stripe_fdw.refresh_cache('a.\"b.c\"')");
    let names: i64 = env.query("select count(*) from \"a.b\".c where name is not null")[0].get(0);
    let prices: i64 =
        env.query("select count(*) from a.\"b.c\" where currency is not null")[0].get(0);
    assert!(names > 0 && prices > 0);
    let st = env.query(
        "select object, row_count from stripe_fdw.cache_status where populated order by object",
    );
    assert_eq!(st.len(), 2);
    assert_eq!(st[0].get::<_, i64>(1), names);
    assert_eq!(st[1].get::<_, i64>(1), prices);
}

#[test]
fn cache_drift_formats_a_column_name_with_a_percent_sign_once() {
    // stripe_fdw foreign tables only have Stripe's column names, so the cache is pointed at a
    // local table whose columns have '%' in them, as the registry allows any source relation.
    let mut scratch = Scratch::new(Catalog::Demo);
    let env = scratch.env();
    env.exec(
        "create schema src;
         create table src.t (id text primary key, \"100%\" int, \"%s%I\" text);
         insert into src.t values ('a', 1, 'x'), ('b', 20, 'y'), ('d', 4, 'w');
         select stripe_fdw.create_cache();
         create materialized view stripe_cache.t as select * from src.t;
         create unique index on stripe_cache.t (id);
         insert into stripe_fdw.cache_registry
                (object, cache_schema, cache_name, source_schema, source_name, source_object,
                 cache_relation, owner)
         values ('stripe_cache.t', 'stripe_cache', 't', 'src', 't', 't',
                 'stripe_cache.t', current_user::text::regrole);
         truncate src.t;
         insert into src.t values ('a', 1, 'x'), ('b', 2, 'y'), ('c', 3, 'z');",
    );
    let drift: Vec<(String, String)> = env
        .query("select id, change from stripe_fdw.cache_drift('stripe_cache.t')")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let want: Vec<(String, String)> = [("b", "changed"), ("c", "added"), ("d", "removed")]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(drift, want);
    env.exec("call stripe_fdw.refresh_cache('stripe_cache.t')");
    assert!(env
        .query("select * from stripe_fdw.cache_drift('stripe_cache.t')")
        .is_empty());
    let rows =
        env.strings("select id || ':' || \"100%\" || \"%s%I\" from stripe_cache.t order by id");
    assert_eq!(rows, vec!["a:1x", "b:2y", "c:3z"]);
}

#[test]
fn a_role_granted_only_the_catalog_reads_it_and_nothing_else() {
    let mut scratch = Scratch::new(Catalog::Demo);
    let anon = unique("anon");
    let env = scratch.env();
    // docs/cache.md, "Who may make and read a cache": the grants, and nothing else.
    env.exec(&format!(
        "create role {anon} nologin;
         select stripe_fdw.create_cache();
         grant usage on schema stripe_cache to {anon};
         grant select on stripe_cache.catalog to {anon};"
    ));
    env.exec(&format!("set role {anon}"));
    let err = env.error("select * from stripe_cache.catalog");
    assert_eq!(
        err.code, "55000",
        "not refreshed yet, and anon is told so: {err:?}"
    );
    assert!(err.message.contains("has not been populated"), "{err:?}");
    env.exec("reset role; call stripe_fdw.refresh_cache();");
    env.exec(&format!("set role {anon}"));
    let names = env.strings("select name from stripe_cache.catalog");
    assert_eq!(names, vec!["Hobby", "Pro", "Team"]);
    for denied in [
        "select * from stripe_cache.products",
        "select * from stripe_fdw.cache_registry",
        "select * from stripe.products",
    ] {
        let err = env.error(denied);
        assert_eq!(err.code, "42501", "{denied}: {err:?}");
    }
    env.exec("reset role");
    drop(scratch);
    connect()
        .batch_execute(&format!("drop role if exists {anon}"))
        .expect("drop role");
}

/// What in an SQL function body is looked up through the search_path: a function call or an
/// operator not written `pg_catalog.`/`stripe_fdw.`-qualified (`operator(pg_catalog.=)`). String
/// literals, casts to qualified types (`::pg_catalog.int8`), named arguments (`days =>`) and
/// negative numbers are no lookups.
fn unqualified(src: &str) -> Vec<String> {
    // Comments and strings out (their '' doubled quotes with them), qualified operators out.
    let mut code = String::new();
    let mut in_string = false;
    for line in src.lines() {
        let mut prev = ' ';
        for ch in line.chars() {
            if ch == '\'' {
                in_string = !in_string;
                code.push(' ');
            } else if !in_string && ch == '-' && prev == '-' {
                code.pop();
                break;
            } else if !in_string {
                code.push(ch);
            }
            prev = ch;
        }
        code.push('\n');
    }
    while let Some(at) = code.find("operator(pg_catalog.") {
        let end = code[at..].find(')').map_or(code.len(), |e| at + e + 1);
        code.replace_range(at..end, " ");
    }
    let code = code.replace("=>", " ").replace("::pg_catalog.", " ");
    let mut found = Vec::new();
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let qualified = word.starts_with("pg_catalog.") || word.starts_with("stripe_fdw.");
            if chars.get(i) == Some(&'(') && !qualified {
                found.push(format!("{word}("));
            }
            continue;
        }
        if "=<>+*/%~!@#^&|-".contains(c) {
            let negative_number = c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit);
            if !negative_number {
                found.push(c.to_string());
            }
        }
        i += 1;
    }
    found
}
