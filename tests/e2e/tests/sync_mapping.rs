//! create_sync's mapping beyond column expressions: a scalar subquery over the app's own tables
//! (the starter's user_id from public.customers), rows that cannot be mapped (a NOT NULL column
//! would be null) left as they are and counted, never the sync's failure; a column mapped to null
//! left alone; and source_filter, which keeps only the rows it holds for.

mod hooks;
mod starter;

use e2e::*;
use hooks::*;
use starter::*;

/// The app's own tables: tiers it assigns to Stripe products by hand, and plans kept equal to
/// Stripe's products, each with its tier (NOT NULL, found through tiers by a scalar subquery).
fn tiered() -> Env {
    let mut env = Env::in_own_database(Catalog::Demo);
    env.exec(&format!(
        "alter user mapping for current_user server {{server}} options (add webhook_secret '{SECRET}');
         create table public.tiers (id int primary key, stripe_product text unique not null);
         create table public.plans (
             id text primary key,
             name text not null,
             tier_id int not null references public.tiers,
             metadata jsonb,
             note text default 'mine');
         select stripe_fdw.create_sync('public.plans', '{{s}}.products', '{{
             \"tier_id\": \"(select t.id from public.tiers t where t.stripe_product = s.id)\",
             \"metadata\": null}}');"
    ));
    env
}

fn status(env: &mut Env) -> (Option<i64>, Vec<String>) {
    let r = &env.query(
        "select rows_skipped, coalesce(skip_reasons, '{}') from stripe_fdw.sync_status
          where target = 'public.plans'::regclass",
    )[0];
    (r.get(0), r.get(1))
}

fn plans(env: &mut Env) -> Vec<String> {
    env.strings("select id || ':' || name || ':' || tier_id from public.plans order by id")
}

#[test]
fn rows_that_cannot_be_mapped_are_left_as_they_are_and_counted_never_the_sync_failure() {
    let mut env = tiered();
    let hobby = product_id(&mut env, "Hobby");
    let pro = product_id(&mut env, "Pro");
    env.exec(&format!(
        "insert into public.tiers values (1, '{hobby}'), (2, '{pro}')"
    ));
    env.exec("call stripe_fdw.sync()");
    assert_eq!(
        plans(&mut env),
        vec![format!("{hobby}:Hobby:1"), format!("{pro}:Pro:2")]
    );
    let (n, reasons) = status(&mut env);
    // Team and the archived Legacy plan have no tier yet.
    assert_eq!(n, Some(2));
    assert_eq!(reasons.len(), 2);
    assert!(
        reasons
            .iter()
            .all(|r| r.ends_with(": tier_id would be null")),
        "{reasons:?}"
    );
    let team = product_id(&mut env, "Team");
    assert!(reasons.iter().any(|r| r.starts_with(&team)), "{reasons:?}");

    // The app assigns Team a tier: the next sync brings it in.
    env.exec(&format!(
        "insert into public.tiers values (3, '{team}'); call stripe_fdw.sync();"
    ));
    assert!(plans(&mut env).contains(&format!("{team}:Team:3")));
    assert_eq!(status(&mut env).0, Some(1), "only Legacy is left");

    // A row that can no longer be mapped is left as it is, not deleted nor overwritten.
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{pro}"),
        "name=Pro+Renamed",
    );
    env.exec("alter table public.plans drop constraint plans_tier_id_fkey; delete from public.tiers where id = 2");
    env.exec("call stripe_fdw.sync()");
    assert!(
        plans(&mut env).contains(&format!("{pro}:Pro:2")),
        "{:?}",
        plans(&mut env)
    );
    let (n, reasons) = status(&mut env);
    assert_eq!(n, Some(2));
    assert!(reasons.iter().any(|r| r.starts_with(&pro)), "{reasons:?}");

    // A webhook for it says so in its answer and writes nothing; the delivery succeeds.
    let evt = event_for(&env, "product.updated", &pro);
    let answer = deliver(&mut env, &evt);
    assert_eq!(answer["action"], "applied");
    assert_eq!(answer["rows"], 0);
    assert_eq!(answer["skipped"], 1);
    assert_eq!(
        answer["skip_reasons"][0],
        format!("{pro}: tier_id would be null")
    );
    assert!(plans(&mut env).contains(&format!("{pro}:Pro:2")));
}

#[test]
fn a_column_mapped_to_null_is_left_alone_even_when_the_source_has_it() {
    let mut env = tiered();
    let hobby = product_id(&mut env, "Hobby");
    env.exec(&format!(
        "insert into public.tiers values (1, '{hobby}'); call stripe_fdw.sync();"
    ));
    let cols = env.strings(
        "select column_name from stripe_fdw.sync_columns('public.plans') order by column_name",
    );
    assert_eq!(
        cols,
        vec!["id", "name", "tier_id"],
        "metadata and note are not synced"
    );
    env.exec(&format!(
        "update public.plans set metadata = '{{\"mine\": true}}', note = 'kept' where id = '{hobby}'"
    ));
    stripe_ok(
        &env,
        "POST",
        &format!("/products/{hobby}"),
        "name=Hobby+Two&metadata[index]=7",
    );
    env.exec("call stripe_fdw.sync()");
    let row = env.strings(&format!(
        "select name || ' ' || metadata::text || ' ' || note from public.plans where id = '{hobby}'"
    ));
    assert_eq!(row, vec!["Hobby Two {\"mine\": true} kept"]);

    // The key cannot be left alone: the table then has no key for the Stripe id.
    let err = env
        .error("select stripe_fdw.create_sync('public.plans', '{s}.products', '{\"id\": null}')");
    assert_eq!(err.code, "22023", "{err:?}");
    assert!(
        err.hint.as_deref().unwrap_or("").contains("\"id\""),
        "{err:?}"
    );
}

#[test]
fn source_filter_keeps_only_the_rows_it_holds_for_through_sync_webhooks_and_drift() {
    let mut env = starter(Catalog::Demo);
    env.exec(&format!(
        "alter user mapping for current_user server {{server}} options (add webhook_secret '{SECRET}');
         create table public.on_sale (id text primary key, name text, active bool);
         select stripe_fdw.create_sync('public.on_sale', '{{s}}.products', source_filter => 's.active');
         call stripe_fdw.sync();"
    ));
    let names = |env: &mut Env| env.strings("select name from public.on_sale order by name");
    assert_eq!(
        names(&mut env),
        vec!["Hobby", "Pro", "Team"],
        "not the archived Legacy plan"
    );
    assert_eq!(
        env.strings("select source_filter from stripe_fdw.sync_status where target = 'public.on_sale'::regclass"),
        vec!["s.active"]
    );

    // Archived in Stripe: its webhook removes it here, as if Stripe no longer had it.
    let team = product_id(&mut env, "Team");
    stripe_ok(&env, "POST", &format!("/products/{team}"), "active=false");
    let evt = event_for(&env, "product.updated", &team);
    assert_eq!(deliver(&mut env, &evt)["action"], "applied");
    assert_eq!(names(&mut env), vec!["Hobby", "Pro"]);
    assert!(
        env.query("select * from stripe_fdw.sync_drift('public.on_sale')")
            .is_empty(),
        "drift compares with the filtered rows"
    );
    // Back on sale: it comes back.
    stripe_ok(&env, "POST", &format!("/products/{team}"), "active=true");
    let evt = event_for(&env, "product.updated", &team);
    assert_eq!(deliver(&mut env, &evt)["action"], "applied");
    assert_eq!(names(&mut env), vec!["Hobby", "Pro", "Team"]);

    // Bad filters are refused with what to change, and nothing is registered.
    for (filter, code) in [
        ("s.name", "42804"),
        ("s.no_such_column", "42703"),
        ("count(*) > 0", "42803"),
        ("true; drop table public.on_sale", "42601"),
        ("  ", "22023"),
    ] {
        let err = env.error(&format!(
            "select stripe_fdw.create_sync('public.products', '{{s}}.products', source_filter => $f${filter}$f$)"
        ));
        assert_eq!(err.code, code, "{filter}: {err:?}");
        assert!(err.message.contains("source_filter"), "{filter}: {err:?}");
    }
    let n: i64 = env.query("select count(*) from public.on_sale")[0].get(0);
    assert_eq!(n, 3);
}
