//! A Supabase-shaped database per test: Supabase's API roles, PostgREST's way of running a request,
//! a Vault-shaped schema that only the owner can read, and the key in the owner's user mapping only.
//!
//! Supabase's `postgres` role, which runs an app's migrations and owns what they create, is not a
//! superuser. Here a per-test role `owner_<tag>` plays it: it owns the `stripe` schema, the server,
//! and the views and functions the app exposes. The cluster's superuser plays `supabase_admin`, the
//! platform: it creates the extension, the wrapper and Vault. Each test gets a database of its own,
//! so the Vault schema, `stripe_server` and the `stripe` schema have their real names.

use crate::{
    connect, connect_to, describe, unique_tag, Catalog, Config, DbErr, FakeStripe, Notices,
};
use postgres::{Client, Row};
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The owner's Stripe key, in Vault or in its user mapping.
pub const OWNER_KEY: &str = "sk_test_OWNERkey9d41c7";

/// The public view of docs/supabase.md: what a pricing page shows, readable by the API roles only.
pub const PRICING_VIEW: &str = "
create view public.pricing as
  select id, name, description from stripe.products where active;
revoke all on public.pricing from anon, authenticated, service_role;
grant select on public.pricing to anon, authenticated;";

/// The rpc function of docs/supabase.md: one product's active prices.
pub const PRODUCT_PRICES: &str = "
create function public.product_prices(product_id text)
  returns table (id text, unit_amount bigint, currency text, recurring_interval text)
  language sql stable security definer set search_path = ''
as $$
  select p.id, p.unit_amount, p.currency, p.recurring_interval
    from stripe.prices p
   where p.product = product_id and p.active
   order by p.currency, p.unit_amount
$$;
revoke execute on function public.product_prices(text) from public, anon, authenticated, service_role;
grant execute on function public.product_prices(text) to anon, authenticated;";

/// Supabase's API roles, as supabase/postgres creates them (migrations/db/init-scripts/
/// 00000000000000-initial-schema.sql), with the statement timeouts it sets; `authenticator` is
/// PostgREST's login. Cluster-wide, so made once, under a lock.
const ROLES: &str = "
select pg_advisory_xact_lock(4246);
do $$ begin
  -- Other tests of the run may have made some of these roles (anon for the sync tests).
  if not exists (select from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticator') then
    create user authenticator noinherit;
  end if;
  grant anon          to authenticator;
  grant authenticated to authenticator;
  grant service_role  to authenticator;
  alter role anon set statement_timeout = '3s';
  alter role authenticated set statement_timeout = '8s';
end $$;";

/// What the platform does in each database, as supabase_admin: the public schema's grants and
/// default privileges (what the owner creates in `public` is granted to the API roles), Vault
/// (`vault.decrypted_secrets`, readable by the owner only), the extension and the wrapper.
const PLATFORM: &str = "
grant usage on schema public to anon, authenticated, service_role;
grant create on schema public to {owner};
grant create on database {db} to {owner};
alter default privileges for role {owner} in schema public
  grant all on tables to anon, authenticated, service_role;
alter default privileges for role {owner} in schema public
  grant all on functions to anon, authenticated, service_role;
alter default privileges for role {owner} in schema public
  grant all on sequences to anon, authenticated, service_role;

create schema vault;
create table vault.secrets (
  id uuid primary key default gen_random_uuid(),
  name text unique,
  description text not null default '',
  secret text not null,
  key_id uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create view vault.decrypted_secrets as
  select id, name, description, secret, secret as decrypted_secret, key_id, created_at, updated_at
    from vault.secrets;
create function vault.create_secret(new_secret text, new_name text default null,
                                    new_description text default '', new_key_id uuid default null)
  returns uuid language sql security definer set search_path = '' as $$
    insert into vault.secrets (secret, name, description, key_id)
    values (new_secret, new_name, new_description, new_key_id) returning id $$;
revoke all on schema vault from public;
revoke all on function vault.create_secret(text, text, text, uuid) from public;
grant usage on schema vault to {owner};
grant select on vault.secrets, vault.decrypted_secrets to {owner};
grant execute on function vault.create_secret(text, text, text, uuid) to {owner};

create extension stripe_fdw;
select stripe_fdw.grant_admin('{owner}');
create foreign data wrapper stripe_wrapper handler stripe_fdw_handler validator stripe_fdw_validator;
grant usage on foreign data wrapper stripe_wrapper to {owner};";

/// Where the owner's user mapping takes the key from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Key {
    /// `api_key_name 'stripe'`: the secret `stripe` in Vault (Supabase's recommended way).
    Vault,
    /// `api_key '...'` in the user mapping itself.
    Inline,
}

/// One test's Supabase-shaped database and its fake Stripe.
pub struct Supa {
    pub fake: FakeStripe,
    /// This test's database.
    pub db: String,
    /// The role playing Supabase's `postgres`.
    pub owner: String,
    /// The platform's superuser (supabase_admin), connected to this test's database.
    pub admin: Client,
    /// The owner's connection (migrations, the dashboard's SQL editor, `call refresh_cache()`).
    pub app: Client,
    /// Notices the owner's connection received.
    pub app_notices: Notices,
    /// PostgREST's connection: logged in as `authenticator`, it takes a role per request.
    api: Client,
    /// More roles a test made with `role`, dropped with the database.
    roles: Vec<String>,
}

impl Supa {
    /// The platform only: roles, database, Vault (holding the owner's key as secret `stripe`),
    /// extension, wrapper. No server yet.
    pub fn platform() -> Supa {
        let fake = FakeStripe::start(Config {
            catalog: Catalog::Demo,
            api_keys: vec![OWNER_KEY.to_string()],
            ..Config::default()
        })
        .expect("start fake stripe");
        let tag = unique_tag();
        let db = format!("supa_{tag}");
        let owner = format!("owner_{tag}");
        let mut root = connect();
        root.batch_execute(ROLES).expect("Supabase roles");
        root.batch_execute(&format!(
            "create role {owner} login nosuperuser createdb createrole bypassrls"
        ))
        .expect("owner role");
        root.batch_execute(&format!("create database {db}"))
            .expect("database");
        let user = std::env::var("PGUSER").unwrap_or_else(|_| "postgres".into());
        let (mut admin, _) = connect_to(&user, &db);
        let platform = PLATFORM.replace("{owner}", &owner).replace("{db}", &db);
        admin.batch_execute(&platform).expect("platform setup");
        let (mut app, app_notices) = connect_to(&owner, &db);
        app.batch_execute(&format!(
            "select vault.create_secret('{OWNER_KEY}', 'stripe', 'Stripe API key')"
        ))
        .expect("the owner stores its key in Vault");
        let (api, _) = connect_to("authenticator", &db);
        Supa {
            fake,
            db,
            owner,
            admin,
            app,
            app_notices,
            api,
            roles: Vec::new(),
        }
    }

    /// The platform plus the app's first migration, as the owner: `stripe_server` pointing at
    /// the fake, a user mapping for the owner only (key from `key`), and the private schema
    /// `stripe` filled by `import foreign schema`.
    pub fn new(key: Key) -> Supa {
        let mut supa = Supa::platform();
        let secret = match key {
            Key::Vault => "api_key_name 'stripe'".to_string(),
            Key::Inline => format!("api_key '{OWNER_KEY}'"),
        };
        supa.owner_sql(&format!(
            "create server stripe_server foreign data wrapper stripe_wrapper
               options (api_url '{}');
             create user mapping for current_user server stripe_server options ({secret});
             create schema stripe;
             import foreign schema stripe from server stripe_server into stripe;",
            supa.fake.base_url()
        ));
        supa
    }

    /// Run SQL as the owner; panics on error.
    pub fn owner_sql(&mut self, sql: &str) {
        self.app
            .batch_execute(sql)
            .unwrap_or_else(|e| panic!("as the owner: {sql}: {}", describe(&e)));
    }

    /// Query as the owner; panics on error.
    pub fn owner_query(&mut self, sql: &str) -> Vec<Row> {
        self.app
            .query(sql, &[])
            .unwrap_or_else(|e| panic!("as the owner: {sql}: {}", describe(&e)))
    }

    /// Run SQL as the platform's superuser; panics on error.
    pub fn admin_sql(&mut self, sql: &str) {
        self.admin
            .batch_execute(sql)
            .unwrap_or_else(|e| panic!("as supabase_admin: {sql}: {}", describe(&e)));
    }

    /// A login role of this test (`<name>_<tag>`), dropped with the database. Returns its name.
    pub fn role(&mut self, name: &str, attributes: &str) -> String {
        let role = format!("{name}_{}", self.db.trim_start_matches("supa_"));
        self.admin_sql(&format!("create role {role} login {attributes}"));
        self.roles.push(role.clone());
        role
    }

    /// A connection to this test's database as `role`, with its notices.
    pub fn connect_as(&self, role: &str) -> (Client, Notices) {
        connect_to(role, &self.db)
    }

    /// Run `sql` as PostgREST runs a request with a JWT whose role is `role` (`anon`,
    /// `authenticated`, `service_role`): one transaction on the authenticator's connection that
    /// applies the role's own settings (anon's 3 s statement_timeout), then the equivalent of
    /// `set local role <role>; set local request.jwt.claims = '<claims>'`, the query, commit.
    pub fn api(&mut self, role: &str, sql: &str) -> Result<Vec<Row>, DbErr> {
        let claims = match role {
            "authenticated" => serde_json::json!({
                "role": "authenticated", "aud": "authenticated",
                "sub": "5f0c7e9a-1b2d-4c3e-8f4a-6b7c8d9e0f1a", "email": "user@example.com"
            }),
            _ => serde_json::json!({ "role": role, "iss": "supabase" }),
        };
        self.api_with(role, &claims, sql)
    }

    /// `api` with explicit JWT claims.
    pub fn api_with(
        &mut self,
        role: &str,
        claims: &serde_json::Value,
        sql: &str,
    ) -> Result<Vec<Row>, DbErr> {
        let err = |e: postgres::Error| DbErr::from(&e);
        let claims = claims.to_string();
        let mut tx = self.api.transaction().map_err(err)?;
        tx.execute(
            "select set_config(split_part(c, '=', 1), substr(c, strpos(c, '=') + 1), true)
               from pg_db_role_setting s, unnest(s.setconfig) c
              where s.setrole = $1::text::regrole and s.setdatabase = 0",
            &[&role],
        )
        .map_err(err)?;
        tx.execute(
            "select set_config('search_path', 'public, extensions', true),
                    set_config('role', $1, true),
                    set_config('request.jwt.claims', $2, true),
                    set_config('request.method', 'GET', true)",
            &[&role, &claims],
        )
        .map_err(err)?;
        let rows = tx.query(sql, &[]).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(rows)
    }

    /// `api` that must succeed: the first column of every row, as text.
    pub fn api_strings(&mut self, role: &str, sql: &str) -> Vec<String> {
        match self.api(role, sql) {
            Ok(rows) => rows.iter().map(|r| r.get::<_, String>(0)).collect(),
            Err(e) => panic!("as {role}: {sql}: {e:?}"),
        }
    }

    /// `api` that must fail: the error.
    pub fn api_error(&mut self, role: &str, sql: &str) -> DbErr {
        match self.api(role, sql) {
            Ok(rows) => panic!(
                "as {role}: {sql}: expected an error, got {} rows",
                rows.len()
            ),
            Err(e) => e,
        }
    }

    /// The requests the fake served, and clear its log.
    pub fn take_log(&self) -> Vec<crate::LogEntry> {
        let log = self.fake.log();
        self.fake.clear_log();
        log
    }
}

impl Drop for Supa {
    fn drop(&mut self) {
        let mut root = connect();
        let _ = root.batch_execute(&format!("drop database if exists {} with (force)", self.db));
        for role in self.roles.iter().chain(std::iter::once(&self.owner)) {
            let _ = root.batch_execute(&format!("drop role if exists {role}"));
        }
    }
}

/// A TCP listener that records what is sent to it and never answers, as an attacker's server
/// would (to collect what stripe_fdw sends). Stops when dropped.
pub struct Listener {
    pub port: u16,
    received: Arc<Mutex<Vec<u8>>>,
    connections: Arc<Mutex<usize>>,
    stop: Arc<AtomicBool>,
}

impl Listener {
    pub fn start() -> Listener {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind listener");
        let port = listener.local_addr().expect("listener address").port();
        let received: Arc<Mutex<Vec<u8>>> = Arc::default();
        let connections: Arc<Mutex<usize>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (r, c, s) = (received.clone(), connections.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                if let Ok(mut n) = c.lock() {
                    *n += 1;
                }
                let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
                let mut buf = [0u8; 4096];
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut v) = r.lock() {
                        v.extend_from_slice(&buf[..n]);
                    }
                }
            }
        });
        Listener {
            port,
            received,
            connections,
            stop,
        }
    }

    /// Everything received so far, lossily as text.
    pub fn received(&self) -> String {
        String::from_utf8_lossy(&self.received.lock().expect("listener bytes")).into_owned()
    }

    /// How many connections were made to it.
    pub fn connections(&self) -> usize {
        *self.connections.lock().expect("listener count")
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}
