//! The Next.js subscription starter's whole webhook route as one SQL call (docs/nextjs-starter.md):
//! its full init migration (users, customers, products, prices, subscriptions) with a minimal
//! `auth` stand-in, the three create_sync calls of the doc, and a user's subscription through
//! checkout, cancel at period end, a price change, cancel now, a customer the app does not know,
//! and a downtime that catch_up() repairs.

mod hooks;
mod race;
mod starter;

use e2e::*;
use hooks::*;
use race::{finish, hold_next, spawn_sql, wait_parked};
use serde_json::Value;
use starter::*;

/// The parts of the starter's `supabase/migrations/20230530034630_init.sql` that MIGRATIONS
/// (products, prices) leaves out: users (with its sign-up trigger on auth.users), customers and
/// subscriptions, as the starter declares them.
const USERS_AND_CUSTOMERS: &str = r#"
create table users (
  id uuid references auth.users not null primary key,
  full_name text,
  avatar_url text,
  billing_address jsonb,
  payment_method jsonb
);
alter table users enable row level security;
create policy "Can view own user data." on users for select using (auth.uid() = id);
create policy "Can update own user data." on users for update using (auth.uid() = id);
create function public.handle_new_user()
returns trigger as $$
begin
  insert into public.users (id, full_name, avatar_url)
  values (new.id, new.raw_user_meta_data->>'full_name', new.raw_user_meta_data->>'avatar_url');
  return new;
end;
$$ language plpgsql security definer;
create trigger on_auth_user_created
  after insert on auth.users
  for each row execute procedure public.handle_new_user();
create table customers (
  id uuid references auth.users not null primary key,
  stripe_customer_id text
);
alter table customers enable row level security;
"#;

const SUBSCRIPTIONS: &str = r#"
create type subscription_status as enum ('trialing', 'active', 'canceled', 'incomplete', 'incomplete_expired', 'past_due', 'unpaid', 'paused');
create table subscriptions (
  id text primary key,
  user_id uuid references auth.users not null,
  status subscription_status,
  metadata jsonb,
  price_id text references prices,
  quantity integer,
  cancel_at_period_end boolean,
  created timestamp with time zone default timezone('utc'::text, now()) not null,
  current_period_start timestamp with time zone default timezone('utc'::text, now()) not null,
  current_period_end timestamp with time zone default timezone('utc'::text, now()) not null,
  ended_at timestamp with time zone default timezone('utc'::text, now()),
  cancel_at timestamp with time zone default timezone('utc'::text, now()),
  canceled_at timestamp with time zone default timezone('utc'::text, now()),
  trial_start timestamp with time zone default timezone('utc'::text, now()),
  trial_end timestamp with time zone default timezone('utc'::text, now())
);
alter table subscriptions enable row level security;
create policy "Can only view own subs data." on subscriptions for select using (auth.uid() = user_id);
"#;

/// The SQL block of docs/nextjs-starter.md after its tested marker, `stripe.` made `{s}.`.
fn doc_block() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/nextjs-starter.md");
    let doc = std::fs::read_to_string(path).expect("docs/nextjs-starter.md");
    doc.split("<!-- tested: tests/e2e/tests/starter_subscriptions.rs -->")
        .nth(1)
        .and_then(|after| after.split("```sql").nth(1))
        .and_then(|b| b.split("```").next())
        .expect("the tested block of docs/nextjs-starter.md")
        .replace("'stripe.", "'{s}.")
}

/// The starter's database: Supabase's `auth` as far as the migration needs it, the full init
/// migration, the doc's three create_sync calls and its sync, and the endpoint's secret.
fn app() -> Env {
    let mut env = Env::in_own_database(Catalog::Demo);
    env.exec(
        "create schema auth;
         create table auth.users (id uuid primary key, email text, raw_user_meta_data jsonb);
         create function auth.uid() returns uuid language sql stable
             as $$ select nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;",
    );
    env.exec(USERS_AND_CUSTOMERS);
    env.exec(MIGRATIONS);
    env.exec(SUBSCRIPTIONS);
    env.exec(&format!(
        "alter user mapping for current_user server {{server}} options (add webhook_secret '{SECRET}')"
    ));
    let block = doc_block();
    env.exec(&block);
    env
}

/// A user signs up (Supabase Auth's row, which the starter's trigger copies to public.users).
fn user(env: &mut Env, email: &str) -> String {
    env.query(&format!(
        "insert into auth.users (id, email, raw_user_meta_data)
         values (gen_random_uuid(), '{email}', '{{\"full_name\": \"A User\"}}') returning id::text"
    ))[0]
        .get(0)
}

/// A subscription made in Stripe for `customer` to `price` (not through checkout); its id.
fn subscribed(env: &Env, customer: &str, price: &str) -> String {
    create(
        env,
        "/subscriptions",
        &format!("customer={customer}&items[0][price]={price}"),
    )
}

/// A user signs up, and the app's createOrRetrieveCustomer makes their Stripe customer and maps
/// it in public.customers. Returns (user id, customer id).
fn signed_up(env: &mut Env, email: &str) -> (String, String) {
    let user = user(env, email);
    let customer = create(
        env,
        "/customers",
        &format!("email={email}&metadata[supabaseUUID]={user}"),
    );
    env.exec(&format!(
        "insert into public.customers (id, stripe_customer_id) values ('{user}', '{customer}')"
    ));
    (user, customer)
}

/// The subscription row: user_id, status, price_id, quantity, cancel_at_period_end.
fn row(env: &mut Env, sub: &str) -> Option<(String, String, String, i32, bool)> {
    env.query(&format!(
        "select user_id::text, status::text, price_id, quantity, cancel_at_period_end
           from public.subscriptions where id = '{sub}'"
    ))
    .first()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
}

/// Deliver every event Stripe made after `since` (their ids, oldest first) and return the answers.
fn deliver_since(env: &mut Env, since: usize) -> Vec<Value> {
    let events = env.fake.events();
    let fresh: Vec<String> = events[..events.len() - since]
        .iter()
        .rev()
        .filter_map(|e| e["id"].as_str().map(str::to_string))
        .collect();
    fresh.iter().map(|id| deliver(env, id)).collect()
}

fn price_named(env: &mut Env, nickname: &str) -> String {
    env.strings(&format!(
        "select id from {{s}}.prices where nickname = '{nickname}'"
    ))
    .remove(0)
}

#[test]
fn checkout_then_every_change_of_the_subscription_needs_no_webhook_code() {
    let mut env = app();
    // The demo catalog's own subscriptions belong to customers the app never mapped: left out.
    let skipped: Option<i64> = env.query(
        "select rows_skipped from stripe_fdw.sync_status where target = 'public.subscriptions'::regclass",
    )[0]
        .get(0);
    assert!(skipped.unwrap_or(0) >= 1, "{skipped:?}");
    let n: i64 = env.query("select count(*) from public.subscriptions")[0].get(0);
    assert_eq!(n, 0);

    // Checkout: the app creates the session, the user pays, Stripe completes it.
    let (user, customer) = signed_up(&mut env, "buyer@example.com");
    let monthly = price_named(&mut env, "Pro monthly");
    let session = stripe_ok(
        &env,
        "POST",
        "/checkout/sessions",
        &format!(
            "mode=subscription&customer={customer}&line_items[0][price]={monthly}&line_items[0][quantity]=1\
             &success_url=https://example.com/account&cancel_url=https://example.com/"
        ),
    );
    let before = env.fake.events().len();
    let done = env
        .fake
        .complete_checkout(session["id"].as_str().expect("session id"))
        .expect("completed");
    let sub = done["subscription"]
        .as_str()
        .expect("its subscription")
        .to_string();
    let answers = deliver_since(&mut env, before);
    assert!(
        answers
            .iter()
            .any(|a| a["type"] == "checkout.session.completed" && a["action"] == "applied"),
        "{answers:?}"
    );
    assert_eq!(
        row(&mut env, &sub),
        Some((user.clone(), "active".into(), monthly.clone(), 1, false))
    );
    let periods: bool = env.query(&format!(
        "select current_period_end > current_period_start and created <= now()
           from public.subscriptions where id = '{sub}'"
    ))[0]
        .get(0);
    assert!(periods, "the periods are the first item's");
    // The starter's account page reads it as its user (RLS: auth.uid() = user_id), and no other.
    env.exec(
        "do $$ begin create role authenticated nologin;
         exception when duplicate_object or unique_violation then null; end $$;
         grant usage on schema public to authenticated;
         grant select on public.subscriptions to authenticated;",
    );
    let as_user = |env: &mut Env, uid: &str| -> Vec<String> {
        env.exec(&format!(
            "set role authenticated; set request.jwt.claim.sub = '{uid}'"
        ));
        let ids = env.strings("select id from public.subscriptions");
        env.exec("reset role; reset request.jwt.claim.sub");
        ids
    };
    assert_eq!(as_user(&mut env, &user), vec![sub.clone()]);
    assert_eq!(
        as_user(&mut env, "00000000-0000-0000-0000-000000000000"),
        Vec::<String>::new()
    );

    // Cancel at period end.
    let before = env.fake.events().len();
    stripe_ok(
        &env,
        "POST",
        &format!("/subscriptions/{sub}"),
        "cancel_at_period_end=true",
    );
    deliver_since(&mut env, before);
    assert_eq!(row(&mut env, &sub).map(|r| r.4), Some(true));

    // A price change on the item.
    let yearly = price_named(&mut env, "Pro yearly");
    let item = env
        .strings(&format!(
            "select attrs #>> '{{items,data,0,id}}' from {{s}}.subscriptions where id = '{sub}'"
        ))
        .remove(0);
    let before = env.fake.events().len();
    stripe_ok(
        &env,
        "POST",
        &format!("/subscriptions/{sub}"),
        &format!("cancel_at_period_end=false&items[0][id]={item}&items[0][price]={yearly}"),
    );
    deliver_since(&mut env, before);
    assert_eq!(row(&mut env, &sub).map(|r| r.2), Some(yearly.clone()));

    // Cancel now: kept, canceled, by the webhook and by a full sync after it.
    let before = env.fake.events().len();
    stripe_ok(&env, "DELETE", &format!("/subscriptions/{sub}"), "");
    deliver_since(&mut env, before);
    assert_eq!(
        row(&mut env, &sub).map(|r| r.1),
        Some("canceled".to_string())
    );
    env.exec("call stripe_fdw.sync()");
    assert_eq!(
        row(&mut env, &sub).map(|r| (r.0, r.1)),
        Some((user, "canceled".to_string()))
    );
    // What differs is only what cannot be mapped: the demo's subscriptions of unknown customers.
    let d = drift(&mut env, "subscriptions");
    assert!(
        !d.is_empty() && d.iter().all(|(_, c)| c == "unmapped"),
        "{d:?}"
    );
}

#[test]
fn a_customer_the_app_does_not_know_is_skipped_and_counted_and_a_downtime_is_caught_up() {
    let mut env = app();
    env.exec("call stripe_fdw.catch_up()");
    // Made in the Dashboard for a customer no user maps to.
    let stranger = create(&env, "/customers", "email=stranger@example.com");
    let monthly = price_named(&mut env, "Hobby monthly");
    let before = env.fake.events().len();
    let sub = subscribed(&env, &stranger, &monthly);
    let answers = deliver_since(&mut env, before);
    let created = answers
        .iter()
        .find(|a| a["type"] == "customer.subscription.created")
        .expect("its created event");
    assert_eq!(created["action"], "applied");
    assert_eq!(created["skipped"], 1);
    assert_eq!(
        created["skip_reasons"][0],
        format!("{sub}: user_id would be null")
    );
    assert_eq!(row(&mut env, &sub), None);
    env.exec("call stripe_fdw.sync()");
    let reasons: Vec<String> = env.query(
        "select coalesce(skip_reasons, '{}') from stripe_fdw.sync_status
          where target = 'public.subscriptions'::regclass",
    )[0]
    .get(0);
    assert!(
        reasons.contains(&format!("{sub}: user_id would be null")),
        "{reasons:?}"
    );
    let warned = env.strings(
        "select reason from stripe_fdw.health where name = 'public.subscriptions' and status = 'warning'",
    );
    assert!(
        warned.iter().any(|r| r.contains("cannot be mapped")),
        "{warned:?}"
    );

    // The app maps the customer later (the user signs up with that email): the next event, or
    // sync, brings the subscription in.
    let user = user(&mut env, "stranger@example.com");
    env.exec(&format!(
        "insert into public.customers values ('{user}', '{stranger}'); call stripe_fdw.sync();"
    ));
    assert_eq!(row(&mut env, &sub).map(|r| r.0), Some(user.clone()));

    // Down: a cancellation no webhook delivered. catch_up() applies it, and health says so.
    env.exec("call stripe_fdw.catch_up()");
    stripe_ok(&env, "DELETE", &format!("/subscriptions/{sub}"), "");
    env.exec("call stripe_fdw.catch_up()");
    assert_eq!(
        row(&mut env, &sub).map(|r| r.1),
        Some("canceled".to_string())
    );
    let warned = env.strings(
        "select reason from stripe_fdw.health where kind = 'server' and status = 'warning'",
    );
    assert!(
        warned
            .iter()
            .any(|r| r.contains("webhooks are being missed")),
        "{warned:?}"
    );
    let synced =
        env.strings("select name from stripe_fdw.health where kind = 'sync' order by name");
    assert_eq!(
        synced,
        vec!["public.prices", "public.products", "public.subscriptions"]
    );
}

/// A checkout of a plan launched a moment ago, whose product.created and price.created (and
/// customer.subscription.created) have not arrived: checkout.session.completed alone brings the
/// subscription, its new price and that price's new product, read from Stripe as they are now.
#[test]
fn a_checkout_of_a_brand_new_plan_needs_no_other_event_first() {
    let mut env = app();
    let (user, customer) = signed_up(&mut env, "early@example.com");
    let product = create(&env, "/products", "name=Launched+Today");
    let price = create(
        &env,
        "/prices",
        &format!("product={product}&currency=usd&unit_amount=4900&recurring[interval]=month"),
    );
    let session = stripe_ok(
        &env,
        "POST",
        "/checkout/sessions",
        &format!(
            "mode=subscription&customer={customer}&line_items[0][price]={price}\
             &success_url=https://example.com/account"
        ),
    );
    let done = env
        .fake
        .complete_checkout(session["id"].as_str().expect("session id"))
        .expect("completed");
    let sub = done["subscription"]
        .as_str()
        .expect("subscription")
        .to_string();
    let completed = event_for(
        &env,
        "checkout.session.completed",
        session["id"].as_str().expect("id"),
    );
    let answer = deliver(&mut env, &completed);
    assert_eq!(answer["action"], "applied", "{answer}");
    assert_eq!(
        row(&mut env, &sub),
        Some((user, "active".into(), price.clone(), 1, false))
    );
    assert_eq!(
        synced_product(&mut env, &product, "name").as_deref(),
        Some("Launched Today")
    );
    let n: i64 = env.query(&format!(
        "select count(*) from public.prices where id = '{price}'"
    ))[0]
        .get(0);
    assert_eq!(n, 1);
}

/// Two users mapped to one Stripe customer make user_id ambiguous: an error that names the
/// subscription and the column, not a pick, and not Stripe's error.
#[test]
fn an_ambiguous_user_id_is_an_error_naming_the_subscription() {
    let mut env = app();
    let (_, customer) = signed_up(&mut env, "shared@example.com");
    let monthly = price_named(&mut env, "Team monthly");
    let sub = subscribed(&env, &customer, &monthly);
    let other = user(&mut env, "twin@example.com");
    env.exec(&format!(
        "insert into public.customers values ('{other}', '{customer}')"
    ));
    let err = env.error("call stripe_fdw.sync()");
    assert_eq!(err.code, "21000", "{err:?}");
    assert!(err.message.contains(&sub), "{err:?}");
    assert!(
        err.detail.as_deref().unwrap_or("").contains("user_id"),
        "{err:?}"
    );
    // The unique index the doc recommends makes it impossible.
    env.exec(&format!(
        "delete from public.customers where id = '{other}'"
    ));
    env.exec(
        "create unique index on public.customers (stripe_customer_id); call stripe_fdw.sync();",
    );
    assert!(row(&mut env, &sub).is_some());
}

/// A full sync reads the subscriptions; meanwhile the user cancels and the webhook applies it.
/// The sync's older read must not bring the subscription back to active.
#[test]
fn a_cancel_delivered_while_a_full_sync_reads_is_not_undone() {
    let mut env = app();
    let (user, customer) = signed_up(&mut env, "racer@example.com");
    let monthly = price_named(&mut env, "Pro monthly");
    let sub = subscribed(&env, &customer, &monthly);
    env.exec("call stripe_fdw.sync()");
    assert_eq!(row(&mut env, &sub).map(|r| r.1), Some("active".to_string()));

    hold_next(&env, "/v1/subscriptions");
    let sync = spawn_sql(&env, "call stripe_fdw.sync()");
    wait_parked(&env, 1);
    let before = env.fake.events().len();
    stripe_ok(&env, "DELETE", &format!("/subscriptions/{sub}"), "");
    deliver_since(&mut env, before);
    assert_eq!(
        row(&mut env, &sub).map(|r| r.1),
        Some("canceled".to_string())
    );
    finish(&env, sync);

    assert_eq!(
        row(&mut env, &sub).map(|r| (r.0, r.1)),
        Some((user, "canceled".to_string()))
    );
    let d = drift(&mut env, "subscriptions");
    assert!(d.iter().all(|(_, c)| c == "unmapped"), "{d:?}");
}
