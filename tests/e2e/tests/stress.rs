//! Every writer at once, seeded and randomized, with a checker: a mutator changes Stripe
//! throughout (an increasing counter in each changed object's metadata; products created and
//! deleted), three sessions deliver real signed events in shuffled order with duplicates, and two
//! loops run sync() and catch_up(). A trigger logs every row write. The checker asserts that no
//! row ever went back to a smaller counter, that no deleted id came back, that no call deadlocked
//! or failed, and that after the run one catch_up() leaves sync_drift empty.
//!
//! STRIPE_FDW_STRESS_SECS (default 60) and STRIPE_FDW_STRESS_SEED (default 17) set the run;
//! STRIPE_FDW_STRESS_LATENCY_MS (default 100) the fake's latency per request.

mod hooks;
mod starter;

use e2e::*;
use hooks::SECRET;
use postgres::Client;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What the workers share of the test's Env (the Env's own session stays with the test).
struct Ctx<'a> {
    fake: &'a FakeStripe,
    database: Option<String>,
    server: String,
}

impl Ctx<'_> {
    fn session(&self) -> Client {
        connect_db(self.database.as_deref()).0
    }

    /// A Stripe API call to the fake: its status and body.
    fn stripe(&self, method: &str, path: &str, form: &str) -> (u16, serde_json::Value) {
        let req = ureq::request(method, &format!("{}{path}", self.fake.base_url()))
            .set("Authorization", &format!("Bearer {DEFAULT_API_KEY}"))
            .set("Content-Type", "application/x-www-form-urlencoded");
        match req.send_string(form) {
            Ok(r) => {
                let status = r.status();
                (
                    status,
                    serde_json::from_str(&r.into_string().unwrap_or_default())
                        .unwrap_or(serde_json::Value::Null),
                )
            }
            Err(ureq::Error::Status(status, _)) => (status, serde_json::Value::Null),
            Err(e) => panic!("{method} {path}: {e}"),
        }
    }

    fn deliver(&self, db: &mut Client, id: &str) -> Result<(), String> {
        let (payload, header) = self
            .fake
            .webhook(id, SECRET, None)
            .expect("the event exists");
        db.query_one(
            "select stripe_fdw.handle_webhook($1, $2, $3)",
            &[&payload, &header, &self.server],
        )
        .map(|_| ())
        .map_err(|e| describe(&e))
    }
}

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// xorshift64*: enough randomness for a test, the same for the same seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SCHEMA: &str = r#"
create table public.s_products (id text primary key, name text, counter bigint);
create table public.s_prices (id text primary key,
                              product text references public.s_products, counter bigint);
create table public.write_log (seq bigserial primary key, tbl text, id text, op text, counter bigint);
create function public.log_write() returns trigger language plpgsql as $f$
begin
  if tg_op = 'DELETE' then
    insert into public.write_log (tbl, id, op, counter) values (tg_table_name, old.id, tg_op, old.counter);
    return old;
  end if;
  insert into public.write_log (tbl, id, op, counter) values (tg_table_name, new.id, tg_op, new.counter);
  return new;
end $f$;
create trigger log_write after insert or update or delete on public.s_products
  for each row execute function public.log_write();
create trigger log_write after insert or update or delete on public.s_prices
  for each row execute function public.log_write();
-- Every event the engine accepts, in the same order as the row writes (it records them under the
-- write lock): a product.deleted logged before an insert of that product means it came back.
create function public.log_event() returns trigger language plpgsql as $f$
begin
  insert into public.write_log (tbl, id, op) values ('event', new.id, new.type);
  return new;
end $f$;
create trigger log_event after insert on stripe_fdw.webhook_events
  for each row execute function public.log_event();
"#;

/// What the workers met: calls made and errors by kind.
#[derive(Default)]
struct Tally {
    calls: BTreeMap<&'static str, u64>,
    errors: Vec<String>,
    deadlocks: u64,
}

fn record(tally: &Mutex<Tally>, what: &'static str, r: Result<(), String>) {
    let mut t = tally.lock().expect("tally");
    *t.calls.entry(what).or_default() += 1;
    if let Err(e) = r {
        if e.contains("40P01") || e.contains("deadlock") {
            t.deadlocks += 1;
        }
        t.errors.push(format!("{what}: {e}"));
    }
}

#[test]
fn every_writer_at_once_never_goes_back_and_never_deadlocks() {
    let secs = setting("STRIPE_FDW_STRESS_SECS", 60);
    let seed = setting("STRIPE_FDW_STRESS_SEED", 17).max(1);
    let latency = setting("STRIPE_FDW_STRESS_LATENCY_MS", 100);
    eprintln!("stress: {secs} s, seed {seed}, {latency} ms per request");

    let mut env = Env::in_own_database(generated(40, 1));
    env.exec(SCHEMA);
    env.exec(&format!(
        "alter user mapping for current_user server {{server}} options (add webhook_secret '{SECRET}');
         select stripe_fdw.create_sync('public.s_products', '{{s}}.products',
                                       '{{\"counter\": \"(metadata->>''counter'')::bigint\"}}');
         select stripe_fdw.create_sync('public.s_prices', '{{s}}.prices',
                                       '{{\"counter\": \"(metadata->>''counter'')::bigint\"}}');
         call stripe_fdw.sync();"
    ));
    let products = env.strings("select id from public.s_products order by id");
    let prices = env.strings("select id from public.s_prices order by id");
    env.fake.set_faults(FaultConfig {
        latency_ms: latency,
        rules: vec![],
    });

    let ctx = Ctx {
        fake: &env.fake,
        database: env.own_database.clone(),
        server: env.server.clone(),
    };
    let stop = AtomicBool::new(false);
    let tally = Mutex::new(Tally::default());
    let counter = AtomicI64::new(0);
    let deleted = Mutex::new(HashSet::<String>::new());
    let deadline = Instant::now() + Duration::from_secs(secs);

    std::thread::scope(|scope| {
        let (ctx, stop, tally, counter, deleted) = (&ctx, &stop, &tally, &counter, &deleted);
        // Three sessions deliver real signed events, shuffled, with duplicates.
        for w in 0..3u64 {
            scope.spawn(move || {
                let mut rng = Rng(seed.wrapping_mul(31).wrapping_add(w + 1));
                let mut db = ctx.session();
                while !stop.load(Ordering::SeqCst) {
                    let events: Vec<String> = ctx
                        .fake
                        .events()
                        .iter()
                        .take(12)
                        .filter_map(|e| e["id"].as_str().map(str::to_string))
                        .collect();
                    if events.is_empty() {
                        std::thread::sleep(Duration::from_millis(50));
                        continue;
                    }
                    for _ in 0..6 {
                        let id = &events[rng.below(events.len())];
                        record(tally, "handle_webhook", ctx.deliver(&mut db, id));
                    }
                }
            });
        }
        // Loops of sync() and catch_up().
        for (what, sql) in [
            ("sync", "call stripe_fdw.sync()"),
            ("catch_up", "call stripe_fdw.catch_up()"),
        ] {
            scope.spawn(move || {
                let mut db = ctx.session();
                while !stop.load(Ordering::SeqCst) {
                    let r = db.batch_execute(sql).map_err(|e| describe(&e));
                    record(tally, what, r);
                }
            });
        }
        // The mutator, on this thread: changes Stripe until the deadline, then stops the others.
        let mut products = products.clone();
        let mut created: Vec<String> = Vec::new();
        let mut rng = Rng(seed);
        while Instant::now() < deadline {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            match rng.below(20) {
                0..=12 => {
                    // Mostly a few hot products, so that every writer meets the others there.
                    let hot = products.len().min(8);
                    let p = if rng.below(5) > 0 {
                        &products[products.len() - 1 - rng.below(hot)]
                    } else {
                        &products[rng.below(products.len())]
                    };
                    ctx.stripe(
                        "POST",
                        &format!("/products/{p}"),
                        &format!("metadata[counter]={n}&name=P{n}"),
                    );
                }
                13..=15 => {
                    let p = &prices[rng.below(prices.len())];
                    ctx.stripe(
                        "POST",
                        &format!("/prices/{p}"),
                        &format!("metadata[counter]={n}"),
                    );
                }
                16..=17 => {
                    let (_, v) = ctx.stripe(
                        "POST",
                        "/products",
                        &format!("name=New{n}&metadata[counter]={n}"),
                    );
                    if let Some(id) = v["id"].as_str() {
                        created.push(id.to_string());
                        products.push(id.to_string());
                    }
                }
                _ => {
                    if !created.is_empty() {
                        let id = created.swap_remove(rng.below(created.len()));
                        let (status, _) = ctx.stripe("DELETE", &format!("/products/{id}"), "");
                        if status == 200 {
                            products.retain(|p| *p != id);
                            deleted.lock().expect("deleted").insert(id);
                        }
                    }
                }
            }
        }
        stop.store(true, Ordering::SeqCst);
    });
    drop(ctx);
    env.fake.set_faults(FaultConfig::default());

    // One catch_up, no full sync: every target is Stripe's again.
    env.exec("call stripe_fdw.catch_up()");
    let drift: i64 = env.query(
        "select (select count(*) from stripe_fdw.sync_drift('public.s_products'))
              + (select count(*) from stripe_fdw.sync_drift('public.s_prices'))",
    )[0]
    .get(0);

    // The checker: per row, counters never go back; a deleted id never comes back.
    let log =
        env.query("select tbl, id, op, coalesce(counter, -1) from public.write_log order by seq");
    let mut last: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut gone: HashSet<(String, String)> = HashSet::new();
    let mut backwards = Vec::new();
    let mut resurrected = Vec::new();
    // Which product each product.deleted event is of.
    let deleted_by: BTreeMap<String, String> = env
        .fake
        .events()
        .iter()
        .filter(|e| e["type"] == "product.deleted")
        .filter_map(|e| {
            Some((
                e["id"].as_str()?.to_string(),
                e["data"]["object"]["id"].as_str()?.to_string(),
            ))
        })
        .collect();
    for r in &log {
        let key = (r.get::<_, String>(0), r.get::<_, String>(1));
        let op: String = r.get(2);
        let c: i64 = r.get(3);
        if key.0 == "event" {
            if let Some(product) = deleted_by.get(&key.1) {
                gone.insert(("s_products".to_string(), product.clone()));
                last.remove(&("s_products".to_string(), product.clone()));
            }
            continue;
        }
        if op == "DELETE" {
            gone.insert(key.clone());
            last.remove(&key);
            continue;
        }
        if op == "INSERT" && gone.contains(&key) {
            resurrected.push(key.1.clone());
        }
        if let Some(prev) = last.get(&key) {
            if c < *prev {
                backwards.push(format!("{} {}: {prev} -> {c}", key.0, key.1));
            }
        }
        last.insert(key, c);
    }
    let still_there: Vec<String> = {
        let gone_ids = deleted.lock().expect("deleted").clone();
        env.strings("select id from public.s_products")
            .into_iter()
            .filter(|id| gone_ids.contains(id))
            .collect()
    };
    let counters = env.query("select name, n from stripe_fdw.engine_counters order by name");
    let counters: Vec<String> = counters
        .iter()
        .map(|r| format!("{}={}", r.get::<_, String>(0), r.get::<_, i64>(1)))
        .collect();
    let t = tally.lock().expect("tally");
    eprintln!(
        "stress: {} changes in Stripe, {} row writes logged, calls {:?}, deadlocks {}, errors {}, {}",
        counter.load(Ordering::SeqCst),
        log.len(),
        t.calls,
        t.deadlocks,
        t.errors.len(),
        counters.join(" ")
    );
    assert_eq!(t.deadlocks, 0, "deadlocks: {:?}", t.errors);
    assert!(
        t.errors.is_empty(),
        "calls failed: {:?}",
        &t.errors[..t.errors.len().min(10)]
    );
    assert!(
        backwards.is_empty(),
        "rows went back to an older state: {backwards:?}"
    );
    assert!(
        resurrected.is_empty(),
        "deleted ids came back: {resurrected:?}"
    );
    assert!(
        still_there.is_empty(),
        "deleted in Stripe, still synced: {still_there:?}"
    );
    assert_eq!(drift, 0, "one catch_up() after the run leaves no drift");
    assert!(t.calls.get("sync").copied().unwrap_or(0) > 0);
    assert!(t.calls.get("catch_up").copied().unwrap_or(0) > 0);
}
