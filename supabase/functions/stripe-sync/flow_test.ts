// The function's routes end to end, served by tests/hosted/run-function, against the fake Stripe and
// a stub of the engine (test_engine_stub.sql) in STRIPE_SYNC_TEST_DB_URL, a throwaway database the
// test rewrites (skipped without it). What is tested is the function's side of the contract:
// the calls it makes and their arguments, its transactions, reads and answers.

import assert from "node:assert/strict";
import postgres from "npm:postgres@3.4.7";
import { type Fake, FAKE_KEY, startFake } from "./test_fake.ts";
import { type Served, serveFunction } from "./test_function.ts";

const dbUrl = Deno.env.get("STRIPE_SYNC_TEST_DB_URL");
const SECRET = "worker-secret-0123456789";
const GOOD_SIG = "t=1,v1=good";

type Row = Record<string, unknown>;

async function post(url: string, body: string, headers: Record<string, string> = {}) {
  const r = await fetch(url, { method: "POST", body, headers });
  const text = await r.text();
  let json: Row = {};
  try {
    json = JSON.parse(text);
  } catch { /* not JSON: json stays empty */ }
  return { status: r.status, text, json };
}

const bearer = { Authorization: `Bearer ${SECRET}` };

Deno.test({
  name: "the function's routes against the fake Stripe and a stub engine",
  ignore: !dbUrl,
  sanitizeResources: false,
  fn: async (t) => {
    const sql = postgres(dbUrl!, { onnotice: () => {}, max: 1 });
    const fake: Fake = await startFake();
    const served: Served[] = [];
    const logs: string[] = [];
    const secretsSeen: string[] = [];
    try {
      const marker = await sql`
        select obj_description(oid, 'pg_namespace') as c from pg_namespace where nspname = 'stripe_fdw'`;
      if (marker.length && marker[0].c !== "stripe-sync test stub") {
        throw new Error(
          "STRIPE_SYNC_TEST_DB_URL has a real stripe_fdw schema: give a throwaway database",
        );
      }
      await sql.unsafe(
        await Deno.readTextFile(new URL("./test_engine_stub.sql", import.meta.url)),
      );
      const env = {
        STRIPE_API_KEY: FAKE_KEY,
        STRIPE_API_BASE: fake.url,
        SUPABASE_DB_URL: dbUrl!,
        STRIPE_SYNC_WORKER_SECRET: SECRET,
      };
      const fn = await serveFunction(env);
      served.push(fn);
      const calls = async () =>
        (await sql`select fn, args from stub.calls order by n`) as unknown as {
          fn: string;
          args: Row;
        }[];
      const fresh = async (catalog: Row = { catalog: "demo" }) => {
        await fake.reset(catalog);
        await sql`truncate stub.calls, stub.state`;
      };
      const setState = async (k: string, v: unknown) => {
        await sql`insert into stub.state values (${k}, ${sql.json(v as postgres.JSONValue)})
                  on conflict (k) do update set v = excluded.v`;
      };
      const stripeLog = async () => (await fake.log()).filter((e) => e.path.startsWith("/v1/"));
      const event = (id: string, type: string, object: Row) =>
        JSON.stringify({ id, object: "event", type, created: 1, data: { object } });

      await t.step(
        "webhook: receive, read, apply in one transaction; 200 with the answer",
        async () => {
          await fresh();
          const r = await post(
            fn.url + "/webhook",
            event("evt_1", "product.updated", { id: "prod_DemoPro0000000", object: "product" }),
            { "Stripe-Signature": GOOD_SIG },
          );
          assert.equal(r.status, 200, r.text);
          assert.deepEqual(r.json, {
            event: "evt_1",
            type: "product.updated",
            action: "applied",
            rows: 1,
          });
          const c = await calls();
          assert.deepEqual(c.map((x) => x.fn), ["webhook_receive", "webhook_apply"]);
          assert.equal(c[0].args.signature, GOOD_SIG);
          assert.equal(c[0].args.server, "stripe");
          const reads = c[1].args.reads as Row[];
          assert.equal(reads.length, 1);
          assert.equal(reads[0].object, "products");
          assert.equal(typeof reads[0].read_from, "number");
          assert.deepEqual((reads[0].objects as Row[]).map((o) => o.id), ["prod_DemoPro0000000"]);
          assert.deepEqual(reads[0].gone, []);
          assert.deepEqual((await stripeLog()).map((e) => e.path), [
            "/v1/products/prod_DemoPro0000000",
          ]);
        },
      );

      await t.step("webhook: a duplicate is 200 and reads nothing", async () => {
        await fake.clearLog();
        const r = await post(
          fn.url + "/webhook",
          event("evt_1", "product.updated", { id: "prod_DemoPro0000000", object: "product" }),
          { "Stripe-Signature": GOOD_SIG },
        );
        assert.equal(r.status, 200);
        assert.equal(r.json.action, "duplicate");
        assert.deepEqual(await stripeLog(), []);
      });

      await t.step(
        "webhook: a refused or missing signature is 400 with a short message",
        async () => {
          await fresh();
          const body = event("evt_2", "product.updated", { id: "prod_DemoPro0000000" });
          const bad = await post(fn.url + "/webhook", body, { "Stripe-Signature": "t=1,v1=bad" });
          assert.equal(bad.status, 400);
          assert.deepEqual(bad.json, { error: "webhook signature refused" });
          const none = await post(fn.url + "/webhook", body);
          assert.equal(none.status, 400);
          assert.deepEqual(await stripeLog(), []);
        },
      );

      await t.step(
        "webhook: gone objects; read_again is read, applied, then apply again",
        async () => {
          await fresh();
          const price = ((await fake.api("GET", "prices?limit=1")).data as Row[])[0].id as string;
          await fake.clearLog();
          await setState("read_again", [{ object: "prices", ids: [price, "price_gone"] }]);
          const r = await post(
            fn.url + "/webhook",
            event("evt_3", "product.deleted", { id: "prod_Gone", object: "product" }),
            { "Stripe-Signature": GOOD_SIG },
          );
          assert.equal(r.status, 200, r.text);
          assert.equal(r.json.action, "applied");
          const c = await calls();
          assert.deepEqual(c.map((x) => x.fn), [
            "webhook_receive",
            "webhook_apply",
            "apply_objects",
            "webhook_apply",
          ]);
          assert.deepEqual((c[1].args.reads as Row[])[0].gone, ["prod_Gone"]);
          assert.equal(c[2].args.object, "prices");
          assert.deepEqual(c[2].args.ids, [price]);
          assert.deepEqual(c[2].args.gone, ["price_gone"]);
          assert.ok(
            (c[2].args.read_from as number) > ((c[1].args.reads as Row[])[0].read_from as number),
          );
          assert.deepEqual(c[3].args, c[1].args, "the first call again, with the same arguments");
          const paths = (await stripeLog()).map((e) => e.path);
          assert.equal(paths[0], "/v1/products/prod_Gone");
          // Retrieves run concurrently: in any order.
          assert.deepEqual(
            paths.slice(1).sort(),
            [`/v1/prices/${price}`, "/v1/prices/price_gone"].sort(),
          );
        },
      );

      await t.step("webhook: a failure is 500, and the transaction wrote nothing", async () => {
        await fresh();
        const r = await post(
          fn.url + "/webhook",
          event("evt_fail", "stub.fail", { id: "prod_DemoPro0000000" }),
          { "Stripe-Signature": GOOD_SIG },
        );
        assert.equal(r.status, 500);
        assert.ok(!r.text.includes("stub:"), "no database message to an unauthenticated caller");
        assert.equal((await sql`select * from stub.received where event = 'evt_fail'`).length, 0);
        assert.equal((await calls()).length, 0);
      });

      await t.step("worker and setup need the bearer secret", async () => {
        for (const route of ["/worker", "/setup"]) {
          const refused: Record<string, string>[] = [
            {},
            { Authorization: "Bearer nope" },
            { Authorization: SECRET },
            { Authorization: `Basic ${btoa(SECRET + ":")}` },
            { Authorization: `Bearer ${SECRET}x` },
          ];
          for (const h of refused) {
            const r = await post(fn.url + route, "{}", h);
            assert.equal(r.status, 401, `${route} ${JSON.stringify(h)}`);
          }
        }
        const get = await fetch(fn.url + "/worker", { headers: bearer });
        await get.body?.cancel();
        assert.equal(get.status, 405);
        const nowhere = await post(fn.url + "/elsewhere", "", bearer);
        assert.equal(nowhere.status, 404);
      });

      await t.step("worker: a full sync pages through each object, then finishes", async () => {
        await fresh({ products: 250, prices_per_product: 1 });
        await setState("plans", [
          { do: "sync_start", types: ["product.created", "price.created"] },
          { do: "sync_page", object: "products", starting_after: null, run: 1 },
          { do: "sync_page", object: "prices", starting_after: null, run: 1 },
          { do: "sync_finish" },
        ]);
        await setState("read_again", [{ object: "products", ids: ["prod_x"] }]);
        const r = await post(fn.url + "/worker", "", bearer);
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.stopped, "idle");
        assert.equal(r.json.requests, 8);
        assert.equal(r.json.rows, 500);
        const steps = r.json.steps as Row[];
        assert.deepEqual(steps.map((s) => [s.do, s.object ?? null, s.requests]), [
          ["sync_start", null, 1],
          ["sync_page", "products", 1],
          ["sync_page", "products", 1],
          ["sync_page", "products", 1],
          ["sync_page", "prices", 1],
          ["sync_page", "prices", 1],
          ["sync_page", "prices", 1],
          ["sync_finish", null, 1],
        ]);
        const log = await stripeLog();
        assert.deepEqual(log[0].query, [
          ["types[]", "product.created"],
          ["types[]", "price.created"],
          ["limit", "1"],
        ]);
        assert.deepEqual(log.slice(1, 4).map((e) => e.query.length), [1, 2, 2]);
        assert.deepEqual(log[7].path, "/v1/products/prod_x");
        const c = (await calls()).map((x) => x.fn);
        assert.deepEqual(c.slice(-4), [
          "sync_finish",
          "apply_objects",
          "sync_finish",
          "worker_plan",
        ]);
        const start = (await calls()).find((x) => x.fn === "sync_start")!;
        assert.equal(start.args.newest, null, "a catalog made by reset has no events");
      });

      await t.step(
        "worker: stops after STRIPE_SYNC_MAX_REQUESTS; the next run resumes",
        async () => {
          const small = await serveFunction({ ...env, STRIPE_SYNC_MAX_REQUESTS: "2" });
          served.push(small);
          await fresh({ products: 250, prices_per_product: 1 });
          await setState("plans", [{
            do: "sync_page",
            object: "products",
            starting_after: null,
            run: 1,
          }]);
          const first = await post(small.url + "/worker", "", bearer);
          assert.equal(first.status, 200, first.text);
          assert.equal(first.json.stopped, "max_requests");
          assert.equal(first.json.requests, 2);
          const second = await post(small.url + "/worker", "", bearer);
          assert.equal(second.json.stopped, "idle");
          assert.equal(second.json.requests, 1);
          assert.equal(first.json.rows as number + (second.json.rows as number), 250);
          logs.push(await small.stop());
          served.pop();
        },
      );

      await t.step(
        "worker: catch-up hands each page over, reads what it names, stops when caught up",
        async () => {
          await fresh({ catalog: "empty" });
          const made = [];
          for (const name of ["A", "B", "C"]) {
            made.push(await fake.api("POST", "products", [["name", name]]));
          }
          const evs = (await fake.api("GET", "events?types[]=product.created")).data as Row[];
          const oldest = evs[2];
          await fake.clearLog();
          await setState("plans", [{
            do: "catch_up",
            types: ["product.created", "product.updated"],
            created_gte: oldest.created,
            after: oldest.id,
          }]);
          const r = await post(fn.url + "/worker", "", bearer);
          assert.equal(r.status, 200, r.text);
          assert.equal(r.json.stopped, "caught_up");
          assert.equal(r.json.requests, 2, "one events page, one ids[] batch");
          const log = await stripeLog();
          assert.deepEqual(log[0].query, [
            ["types[]", "product.created"],
            ["types[]", "product.updated"],
            ["created[gte]", String(oldest.created)],
            ["ending_before", oldest.id as string],
            ["limit", "100"],
          ]);
          assert.equal(log[1].path, "/v1/products");
          assert.deepEqual(
            log[1].query.filter(([k]) => k === "ids[]").map(([, v]) => v).sort(),
            [made[1].id, made[2].id].sort(),
          );
          const c = await calls();
          assert.deepEqual(c.map((x) => x.fn), ["worker_plan", "catch_up_plan", "catch_up_apply"]);
          assert.deepEqual((c[1].args.events as string[]).sort(), [evs[0].id, evs[1].id].sort());
          // The next run finds nothing newer: one request.
          await fake.clearLog();
          const idle = await post(fn.url + "/worker", "", bearer);
          assert.equal(idle.json.stopped, "caught_up");
          assert.equal(idle.json.requests, 1);
          assert.deepEqual(
            (await stripeLog()).map((e) => e.query.find(([k]) => k === "ending_before")?.[1]),
            [
              evs[0].id,
            ],
          );
        },
      );

      await t.step("worker: a cursor Stripe no longer has makes a full sync due", async () => {
        await fresh();
        await setState("plans", [{
          do: "catch_up",
          types: ["product.created"],
          created_gte: 1,
          after: "evt_long_gone",
        }]);
        const r = await post(fn.url + "/worker", "", bearer);
        assert.equal(r.status, 200, r.text);
        assert.deepEqual((r.json.steps as Row[]).map((s) => s.do), ["catch_up", "sync_start"]);
        assert.ok("full_sync" in ((r.json.steps as Row[])[0].answer as Row));
        assert.ok((await calls()).some((x) => x.fn === "request_sync"));
      });

      await t.step(
        "worker: a Stripe failure is 500 with what was done, the key not shown",
        async () => {
          await fresh();
          await setState("plans", [
            { do: "sync_page", object: "prices", starting_after: null, run: 1 },
            { do: "sync_page", object: "products", starting_after: null, run: 1 },
          ]);
          await fake.faults([{
            kind: "status",
            status: 500,
            should_retry: false,
            path_prefix: "/v1/products",
          }]);
          const r = await post(fn.url + "/worker", "", bearer);
          assert.equal(r.status, 500);
          assert.equal((r.json.steps as Row[]).length, 1);
          assert.equal((r.json.error as Row).status, 500);
          assert.ok(!r.text.includes(FAKE_KEY));
        },
      );

      await t.step(
        "setup: the endpoint gets the engine's events; its secret is kept, not shown",
        async () => {
          await fresh();
          await setState("events", ["product.updated", "price.updated"]);
          const url = "https://example.com/functions/v1/stripe-sync/webhook";
          const r = await post(fn.url + "/setup", JSON.stringify({ url }), bearer);
          assert.equal(r.status, 200, r.text);
          assert.match(r.json.id as string, /^we_/);
          assert.deepEqual(r.json.enabled_events, ["product.updated", "price.updated"]);
          assert.ok(!r.text.includes("whsec_"));
          const [kept] = await sql`select v #>> '{}' as s from stub.state where k = 'secret'`;
          assert.match(kept.s, /^whsec_/);
          secretsSeen.push(kept.s);
          const log = (await stripeLog()).filter((e) => e.method === "POST");
          assert.equal(log.length, 1);
          assert.deepEqual(log[0].form?.filter(([k]) => k === "url" || k === "enabled_events[]"), [
            ["url", url],
            ["enabled_events[]", "product.updated"],
            ["enabled_events[]", "price.updated"],
          ]);
          const made = await fake.api("GET", `webhook_endpoints/${r.json.id}`);
          assert.equal(made.url, url);
          // Again: the endpoint is there already, and its secret is not replaced.
          const again = await post(fn.url + "/setup", JSON.stringify({ url }), bearer);
          assert.equal(again.status, 409, again.text);
          assert.equal(again.json.id, r.json.id);
          const [still] = await sql`select v #>> '{}' as s from stub.state where k = 'secret'`;
          assert.equal(still.s, kept.s);
          // Never another route or host than this function's webhook route.
          for (
            const other of [
              "https://evil.example/collect",
              "https://example.com/functions/v1/other/webhook",
            ]
          ) {
            const r2 = await post(fn.url + "/setup", JSON.stringify({ url: other }), bearer);
            assert.equal(r2.status, 400, r2.text);
          }
        },
      );

      await t.step(
        "setup: no events to subscribe to is 409; a body without url is 400",
        async () => {
          await fresh();
          const none = await post(
            fn.url + "/setup",
            JSON.stringify({ url: "https://example.com/functions/v1/stripe-sync/webhook" }),
            bearer,
          );
          assert.equal(none.status, 409);
          const bad = await post(fn.url + "/setup", "{}", bearer);
          assert.equal(bad.status, 400);
          assert.deepEqual(await stripeLog(), []);
        },
      );

      await t.step("the function's logs hold no secret", async () => {
        logs.push(await fn.stop());
        served.pop();
        const all = logs.join("\n");
        assert.ok(all.includes('"route":"webhook"'), "the failures above were logged");
        assert.ok(all.includes('"action":"applied"'), "and what was applied");
        for (const s of [FAKE_KEY, SECRET, ...secretsSeen]) {
          assert.ok(!all.includes(s), "a secret in the logs");
        }
      });
    } finally {
      for (const s of served) await s.stop();
      await fake.stop();
      await sql.end();
    }
  },
});
