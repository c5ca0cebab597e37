//! A Vault secret named in a user mapping is read only for a server whose owner has the privileges
//! of that mapping's user: whoever decides where a server points (its api_url) cannot make another
//! role's secret go there by writing user mappings for it.

use e2e::supabase::{Supa, OWNER_KEY};
use e2e::{describe, Catalog, Config, DbErr, FakeStripe};
use postgres::Client;

/// The attacker's own Stripe key, accepted by its fake.
const ATTACKER_KEY: &str = "sk_test_ATTACKERkey51e0";

/// The cluster's superuser, playing supabase_admin.
fn superuser() -> String {
    std::env::var("PGUSER").unwrap_or_else(|_| "postgres".into())
}

fn run(db: &mut Client, who: &str, sql: &str) {
    db.batch_execute(sql)
        .unwrap_or_else(|e| panic!("as {who}: {sql}: {}", describe(&e)));
}

fn error(db: &mut Client, sql: &str) -> DbErr {
    match db.query(sql, &[]) {
        Ok(rows) => panic!("{sql}: expected an error, got {} rows", rows.len()),
        Err(e) => DbErr::from(&e),
    }
}

/// The refusal: insufficient privilege, naming the server and the secret, saying what to do, and
/// holding no key.
fn assert_refused(e: &DbErr, who: &str, option: &str) {
    assert_eq!(e.code, "42501", "{who}: {e:?}");
    assert!(
        e.message.contains("evil_server") && e.message.contains(option),
        "{who}: {e:?}"
    );
    assert!(
        e.hint.as_deref().unwrap_or_default().contains("owner"),
        "{who}: {e:?}"
    );
    assert!(!e.all_text().contains(OWNER_KEY), "{who}: {e:?}");
}

/// The attack of issue 18: a role with USAGE on the wrapper makes a server pointing at a Stripe it
/// controls, user mappings for other roles naming the Vault secret `stripe`, and a foreign table
/// readable by all. When those roles read it, their key must not be sent.
#[test]
fn a_server_owner_cannot_send_other_roles_vault_secrets_through_their_user_mappings() {
    let mut s = Supa::platform();
    // The attacker's Stripe: it would answer the owner's key (which Vault holds) as well as its own,
    // so any request made with the victims' key would be logged here.
    let theirs = FakeStripe::start(Config {
        catalog: Catalog::Demo,
        api_keys: vec![OWNER_KEY.to_string(), ATTACKER_KEY.to_string()],
        ..Config::default()
    })
    .expect("the attacker's fake Stripe");
    let attacker = s.role("attacker", "nosuperuser");
    s.admin_sql(&format!(
        "grant usage on foreign data wrapper stripe_wrapper to {attacker};
         create schema evil authorization {attacker};"
    ));
    let (owner, admin) = (s.owner.clone(), superuser());
    let (mut evil, _) = s.connect_as(&attacker);
    run(
        &mut evil,
        &attacker,
        &format!(
            "create server evil_server foreign data wrapper stripe_wrapper
               options (api_url '{}', max_retries '0');
             create user mapping for current_user server evil_server
               options (api_key '{ATTACKER_KEY}');
             create user mapping for {owner} server evil_server options (api_key_name 'stripe');
             create user mapping for {admin} server evil_server options (api_key_id 'stripe');
             create foreign table evil.products (id text, name text)
               server evil_server options (object 'products');
             grant usage on schema evil to public;
             grant select on evil.products to public;",
            theirs.base_url()
        ),
    );
    // The setup works: the attacker reads its own table with its own key.
    assert!(!evil
        .query("select id from evil.products", &[])
        .expect("the attacker's read")
        .is_empty());
    theirs.clear_log();

    let (mut owner_db, _) = s.connect_as(&owner);
    let read = "select id, name from evil.products";
    assert_refused(&error(&mut owner_db, read), "the owner", "api_key_name");
    assert_refused(&error(&mut s.admin, read), "the superuser", "api_key_id");
    assert!(
        theirs.log().is_empty(),
        "a victim's key was sent: {:?}",
        theirs.log()
    );

    // A mapping for PUBLIC names the secret for every reader, the webhook secret too.
    run(
        &mut evil,
        &attacker,
        &format!(
            "drop user mapping for {owner} server evil_server;
             drop user mapping for {admin} server evil_server;
             create user mapping for public server evil_server
               options (api_key_name 'stripe', webhook_secret_name 'stripe');"
        ),
    );
    assert_refused(&error(&mut owner_db, read), "the owner", "api_key_name");
    assert_refused(&error(&mut s.admin, read), "the superuser", "api_key_name");
    let verify = "select stripe_fdw._verify_webhook(
                    (select oid from pg_foreign_server where srvname = 'evil_server'),
                    '{}', 't=1,v1=00')::text";
    assert_refused(
        &error(&mut s.admin, verify),
        "the superuser's webhook check",
        "webhook_secret_name",
    );
    assert!(
        theirs.log().is_empty(),
        "a victim's key was sent: {:?}",
        theirs.log()
    );
}

/// The rule lets through the servers whose owner could act as the mapping's user anyway: a
/// superuser's, and one owned by a member of the user.
#[test]
fn a_secret_in_a_user_mapping_is_read_for_a_superusers_or_a_members_server() {
    let mut s = Supa::platform();
    let owner = s.owner.clone();
    let deployer = s.role("deployer", "nosuperuser");
    s.admin_sql(&format!(
        "grant {owner} to {deployer};
         grant usage on foreign data wrapper stripe_wrapper to {deployer};
         create server platform_server foreign data wrapper stripe_wrapper options (api_url '{url}');
         create user mapping for {owner} server platform_server options (api_key_name 'stripe');
         create schema platform;
         create foreign table platform.products (id text) server platform_server
           options (object 'products');
         grant usage on schema platform to {owner};
         grant select on platform.products to {owner};
         create schema deployed authorization {deployer};",
        url = s.fake.base_url()
    ));
    let (mut dep, _) = s.connect_as(&deployer);
    run(
        &mut dep,
        &deployer,
        &format!(
            "create server deployer_server foreign data wrapper stripe_wrapper
               options (api_url '{}');
             create user mapping for {owner} server deployer_server options (api_key_id 'stripe');
             create foreign table deployed.products (id text) server deployer_server
               options (object 'products');
             grant usage on schema deployed to {owner};
             grant select on deployed.products to {owner};",
            s.fake.base_url()
        ),
    );
    let (mut owner_db, _) = s.connect_as(&owner);
    for table in ["platform.products", "deployed.products"] {
        let rows = owner_db
            .query(&format!("select id from {table}"), &[])
            .unwrap_or_else(|e| panic!("the owner reading {table}: {}", describe(&e)));
        assert_eq!(rows.len(), 4, "{table}");
    }
}
