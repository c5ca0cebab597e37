// Postgres access: one postgres.js pool over SUPABASE_DB_URL, and one wrapper per SQL entry point of
// docs/hosted-contract.md. Every call is parameterized; jsonb goes in as sql.json and comes back parsed.

import postgres from "npm:postgres@3.4.7";

export type Sql = postgres.Sql;
/** A connection to run one call on: the pool, or a transaction (`sql.begin`). */
export type Db = postgres.Sql | postgres.TransactionSql;
export type Answer = Record<string, unknown>;

let pool: { url: string; sql: Sql } | undefined;

/** The pool for `url`, made on first use and kept for the life of the isolate. */
export function connect(url: string): Sql {
  if (pool?.url !== url) {
    pool = {
      url,
      sql: postgres(url, {
        max: 3,
        // Supavisor's transaction mode has no prepared statements; unnamed ones work everywhere.
        prepare: false,
        idle_timeout: 20,
        connect_timeout: 10,
        connection: { application_name: "stripe-sync" },
        onnotice: () => {},
      }),
    };
  }
  return pool.sql;
}

/** Close the pool (tests, shutdown). */
export async function disconnect(): Promise<void> {
  const p = pool;
  pool = undefined;
  await p?.sql.end({ timeout: 5 });
}

// deno-lint-ignore no-explicit-any
const json = (db: Db, v: unknown) => db.json(v as any);

/** A jsonb answer as an object (postgres.js parses jsonb; a text answer is parsed here). */
function answer(v: unknown, fn: string): Answer {
  const parsed = typeof v === "string" ? JSON.parse(v) : v;
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error(
      `stripe_fdw.${fn} answered ${JSON.stringify(parsed)?.slice(0, 200)}, not a JSON object`,
    );
  }
  return parsed as Answer;
}

async function one(rows: Promise<postgres.Row[]>, fn: string): Promise<Answer> {
  const r = await rows;
  return answer(r[0]?.r, fn);
}

/** `read_tick()`: a tick of the engine's clock, taken just before a read's first request and just
 * after its last answer (bigint, kept as text). */
export async function readTick(db: Db): Promise<string> {
  const [row] = await db`select stripe_fdw.read_tick()::text as r`;
  if (typeof row?.r !== "string") throw new Error("stripe_fdw.read_tick() answered no tick");
  return row.r;
}

/** `apply_objects`: a read of some ids made between the ticks `readFrom` and `readTo`. */
export function applyObjects(
  db: Db,
  server: string,
  object: string,
  readFrom: string,
  readTo: string,
  objects: unknown[],
  gone: string[],
): Promise<Answer> {
  return one(
    db`select stripe_fdw.apply_objects(${server}, ${object}, ${readFrom}::bigint, ${readTo}::bigint, ${
      json(db, objects)
    }::jsonb, ${gone}::text[]) as r`,
    "apply_objects",
  );
}

export function webhookReceive(db: Db, payload: string, signature: string, server: string) {
  return one(
    db`select stripe_fdw.webhook_receive(${payload}, ${signature}, ${server}) as r`,
    "webhook_receive",
  );
}

export function webhookApply(
  db: Db,
  payload: string,
  signature: string,
  reads: unknown[],
  server: string,
): Promise<Answer> {
  return one(
    db`select stripe_fdw.webhook_apply(${payload}, ${signature}, ${
      json(db, reads)
    }::jsonb, ${server}) as r`,
    "webhook_apply",
  );
}

export function workerPlan(db: Db, server: string): Promise<Answer> {
  return one(db`select stripe_fdw.worker_plan(${server}) as r`, "worker_plan");
}

export function syncStart(db: Db, server: string, readFrom: string, newest: unknown | null) {
  const ev = newest === null ? null : json(db, newest);
  return one(
    db`select stripe_fdw.sync_start(${server}, ${readFrom}::bigint, ${ev}::jsonb) as r`,
    "sync_start",
  );
}

/** `sync_page`: one page of the full read `run` (worker_plan's run: its read_from tick). */
export function syncPage(
  db: Db,
  server: string,
  object: string,
  page: unknown,
  run: string,
): Promise<Answer> {
  return one(
    db`select stripe_fdw.sync_page(${server}, ${object}, ${
      json(db, page)
    }::jsonb, ${run}::bigint) as r`,
    "sync_page",
  );
}

export function syncFinish(db: Db, server: string): Promise<Answer> {
  return one(db`select stripe_fdw.sync_finish(${server}) as r`, "sync_finish");
}

export function catchUpPlan(db: Db, server: string, events: unknown[]): Promise<Answer> {
  return one(
    db`select stripe_fdw.catch_up_plan(${server}, ${json(db, events)}::jsonb) as r`,
    "catch_up_plan",
  );
}

export function catchUpApply(db: Db, server: string, events: unknown[], reads: unknown[]) {
  return one(
    db`select stripe_fdw.catch_up_apply(${server}, ${json(db, events)}::jsonb, ${
      json(db, reads)
    }::jsonb) as r`,
    "catch_up_apply",
  );
}

/** `request_sync(server)`: make a full sync due (the next worker_plan says sync_start). */
export async function requestSync(db: Db, server: string): Promise<void> {
  await db`select stripe_fdw.request_sync(${server})`;
}

/** `endpoint_events(server)`: the event types the registered syncs need. */
export async function endpointEvents(db: Db, server: string): Promise<string[]> {
  const [row] = await db`select stripe_fdw.endpoint_events(${server}) as r`;
  const r: unknown = row?.r;
  if (r === null || r === undefined) return [];
  if (!Array.isArray(r) || !r.every((t) => typeof t === "string")) {
    throw new Error("stripe_fdw.endpoint_events() answered something other than text[]");
  }
  return r;
}

/** `set_webhook_secret(server, secret)`: keep the endpoint's signing secret (Vault when present). */
export async function setWebhookSecret(db: Db, server: string, secret: string): Promise<void> {
  await db`select stripe_fdw.set_webhook_secret(${server}, ${secret})`;
}
