// Tests of the function's Stripe side against the real fake Stripe (tests/fake_stripe): headers,
// list paging, ids[] batches, retrieves with 404 as gone, events, and retries under injected faults.

import assert from "node:assert/strict";
import { StripeError } from "./errors.ts";
import { eventsAfter, newestEvent } from "./events.ts";
import { listPage, readIds } from "./reads.ts";
import { DEFAULT_POLICY, type Policy } from "./retry.ts";
import { type JsonObject, Stripe } from "./stripe.ts";
import { type Fake, FAKE_KEY, type LogEntry, startFake } from "./test_fake.ts";

/** A client of the fake whose backoff waits are recorded, not slept. */
function client(
  fake: Fake,
  o: { apiKey?: string; policy?: Policy; requestTimeoutMs?: number; maxResponseBytes?: number } =
    {},
) {
  const waits: number[] = [];
  const stripe = new Stripe({
    apiKey: o.apiKey ?? FAKE_KEY,
    apiBase: fake.url + "/v1",
    policy: o.policy,
    requestTimeoutMs: o.requestTimeoutMs,
    maxResponseBytes: o.maxResponseBytes,
    sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
    random: () => 0.5,
  });
  return { stripe, waits };
}

const api = (log: LogEntry[]) => log.filter((e) => e.path.startsWith("/v1/"));
const ids = (objs: JsonObject[]) => objs.map((o) => o.id as string);

Deno.test("the Stripe client against the fake Stripe", async (t) => {
  const fake = await startFake();
  try {
    await t.step(
      "list pages: limit=100, starting_after the last id, until has_more is false",
      async () => {
        await fake.reset({ products: 250, prices_per_product: 1 });
        const { stripe } = client(fake);
        const seen: string[] = [];
        let after: string | null = null;
        for (;;) {
          const page = await listPage(stripe, "products", after);
          seen.push(...ids(page.data));
          if (!page.has_more) break;
          after = seen[seen.length - 1];
        }
        assert.equal(seen.length, 250);
        assert.equal(new Set(seen).size, 250);
        const log = api(await fake.log());
        assert.equal(stripe.requests, 3);
        assert.deepEqual(log.map((e) => [e.method, e.path, e.query]), [
          ["GET", "/v1/products", [["limit", "100"]]],
          ["GET", "/v1/products", [["limit", "100"], ["starting_after", seen[99]]]],
          ["GET", "/v1/products", [["limit", "100"], ["starting_after", seen[199]]]],
        ]);
      },
    );

    await t.step("every request sends Stripe-Version and the client's User-Agent", async () => {
      const log = api(await fake.log());
      for (const e of log) {
        const h = Object.fromEntries(e.headers ?? []);
        assert.equal(h["stripe-version"], "2026-10-28.endive");
        assert.match(h["user-agent"], /^stripe_fdw\//);
      }
    });

    await t.step(
      "subscriptions are listed with status=all; checkout sessions at checkout/sessions",
      async () => {
        await fake.reset({ catalog: "demo" });
        const { stripe } = client(fake);
        const subs = await listPage(stripe, "subscriptions", null);
        assert.ok(subs.data.length > 0);
        assert.ok(subs.data.some((s) => s.status === "canceled"), "canceled ones too");
        const sessions = await listPage(stripe, "checkout/sessions", null);
        assert.ok(sessions.data.every((s) => s.object === "checkout.session"));
        const log = api(await fake.log());
        assert.deepEqual(log.map((e) => [e.path, e.query]), [
          ["/v1/subscriptions", [["status", "all"], ["limit", "100"]]],
          ["/v1/checkout/sessions", [["limit", "100"]]],
        ]);
      },
    );

    await t.step(
      "products: several ids in one ids[] request; ids Stripe lacks are gone",
      async () => {
        await fake.reset({ products: 250, prices_per_product: 1 });
        const { stripe } = client(fake);
        const all = ids((await listPage(stripe, "products", null)).data);
        await fake.clearLog();
        const want = [all[0], all[1], all[2], "prod_missing", all[1]];
        const got = await readIds(stripe, "products", want);
        assert.deepEqual(ids(got.objects).sort(), [all[0], all[1], all[2]].sort());
        assert.deepEqual(got.gone, ["prod_missing"]);
        const log = api(await fake.log());
        assert.equal(log.length, 1);
        assert.equal(log[0].path, "/v1/products");
        assert.deepEqual(log[0].query, [
          ["ids[]", all[0]],
          ["ids[]", all[1]],
          ["ids[]", all[2]],
          ["ids[]", "prod_missing"],
          ["limit", "100"],
        ]);
      },
    );

    await t.step("products: 150 ids are two ids[] requests of at most 100", async () => {
      const { stripe } = client(fake);
      let all: string[] = [];
      let after: string | null = null;
      for (let i = 0; i < 2; i++) {
        const page = await listPage(stripe, "products", after);
        all = all.concat(ids(page.data));
        after = all[all.length - 1];
      }
      await fake.clearLog();
      const got = await readIds(stripe, "products", all.slice(0, 150));
      assert.equal(got.objects.length, 150);
      assert.deepEqual(got.gone, []);
      const log = api(await fake.log());
      assert.deepEqual(log.map((e) => e.query.filter(([k]) => k === "ids[]").length), [100, 50]);
    });

    await t.step(
      "products: one id is a retrieve; a custom id that is no path segment uses ids[]",
      async () => {
        await fake.reset({ catalog: "demo" });
        const { stripe } = client(fake);
        const one = await readIds(stripe, "products", ["prod_DemoPro0000000"]);
        assert.deepEqual(ids(one.objects), ["prod_DemoPro0000000"]);
        const missing = await readIds(stripe, "products", ["prod_Nope"]);
        assert.deepEqual(missing, { objects: [], gone: ["prod_Nope"] });
        const odd = await readIds(stripe, "products", ["my product/1"]);
        assert.deepEqual(odd, { objects: [], gone: ["my product/1"] });
        const log = api(await fake.log());
        assert.deepEqual(log.map((e) => [e.path, e.query, e.status]), [
          ["/v1/products/prod_DemoPro0000000", [], 200],
          ["/v1/products/prod_Nope", [], 404],
          ["/v1/products", [["ids[]", "my product/1"], ["limit", "100"]], 200],
        ]);
      },
    );

    await t.step(
      "other objects: one retrieve per id; 404 resource_missing and deleted are gone",
      async () => {
        await fake.reset({ catalog: "demo" });
        const cus = await fake.api("POST", "customers", [["email", "gone@example.com"]]);
        await fake.api("DELETE", `customers/${cus.id}`);
        const price = (await fake.api("GET", "prices?limit=1")).data as JsonObject[];
        await fake.clearLog();
        const { stripe } = client(fake);
        const prices = await readIds(stripe, "prices", [
          price[0].id as string,
          "price_missing",
          "a/b",
        ]);
        assert.deepEqual(ids(prices.objects), [price[0].id]);
        assert.deepEqual(prices.gone.sort(), ["a/b", "price_missing"]);
        const customers = await readIds(stripe, "customers", [cus.id as string]);
        assert.deepEqual(customers, { objects: [], gone: [cus.id] });
        const log = api(await fake.log());
        // "a/b" could be no id Stripe made: gone without a request.
        assert.deepEqual(
          log.map((e) => [e.path, e.status]).sort(),
          [
            [`/v1/customers/${cus.id}`, 200],
            [`/v1/prices/${price[0].id}`, 200],
            ["/v1/prices/price_missing", 404],
          ].sort(),
        );
      },
    );

    await t.step(
      "an object the function does not know is an error, not a guessed URL",
      async () => {
        const { stripe } = client(fake);
        await assert.rejects(readIds(stripe, "invoices", ["in_1"]), /does not read/);
        assert.equal(stripe.requests, 0);
      },
    );

    await t.step("events: the newest of some types; the page after a cursor", async () => {
      await fake.reset({ catalog: "empty" });
      for (const name of ["A", "B", "C"]) await fake.api("POST", "products", [["name", name]]);
      await fake.api("POST", "customers", [["email", "e@example.com"]]);
      await fake.clearLog();
      const { stripe } = client(fake);
      const newest = await newestEvent(stripe, ["product.created"]);
      assert.equal(newest?.type, "product.created");
      const all = (await fake.api("GET", "events?types[]=product.created")).data as JsonObject[];
      assert.equal(all.length, 3);
      assert.equal(newest?.id, all[0].id);
      const oldest = all[2];
      const page = await eventsAfter(
        stripe,
        ["product.created"],
        oldest.created as number,
        oldest.id as string,
      );
      assert.deepEqual(ids(page.data), [all[0].id, all[1].id]);
      assert.equal(page.has_more, false);
      assert.equal(await newestEvent(stripe, ["price.created"]), null);
      // The function's requests (the test's own carry no Stripe-Version).
      const ours = api(await fake.log()).filter((e) =>
        e.headers?.some(([k]) => k === "stripe-version")
      );
      assert.deepEqual(ours.map((e) => e.query), [
        [["types[]", "product.created"], ["limit", "1"]],
        [
          ["types[]", "product.created"],
          ["created[gte]", String(oldest.created)],
          ["ending_before", oldest.id],
          ["limit", "100"],
        ],
        [["types[]", "price.created"], ["limit", "1"]],
      ]);
      await assert.rejects(newestEvent(stripe, []), /1 to 20 event types/);
    });

    await t.step("POST is form-encoded, with one Idempotency-Key over its retries", async () => {
      await fake.reset({ catalog: "demo" });
      await fake.faults([{ kind: "status", status: 500, count: 1, method: "POST" }]);
      const { stripe } = client(fake);
      const made = await stripe.post("webhook_endpoints", [
        ["url", "https://example.com/functions/v1/stripe-sync/webhook"],
        ["enabled_events[]", "product.updated"],
        ["enabled_events[]", "price.updated"],
      ]);
      assert.match(made.id as string, /^we_/);
      assert.match(made.secret as string, /^whsec_/);
      const log = api(await fake.log());
      assert.deepEqual(log.map((e) => e.status), [500, 200]);
      assert.deepEqual(log[1].form, [
        ["url", "https://example.com/functions/v1/stripe-sync/webhook"],
        ["enabled_events[]", "product.updated"],
        ["enabled_events[]", "price.updated"],
      ]);
      const keys = log.map((e) => Object.fromEntries(e.headers ?? [])["idempotency-key"]);
      assert.match(keys[0], /^stripe_fdw-[0-9a-f]{32}$/);
      assert.equal(keys[0], keys[1]);
    });

    await t.step("5xx is retried with growing backoff", async () => {
      await fake.reset({ catalog: "demo" });
      await fake.faults([{ kind: "status", status: 500, count: 2, path_prefix: "/v1/products" }]);
      const { stripe, waits } = client(fake);
      const page = await listPage(stripe, "products", null);
      assert.ok(page.data.length > 0);
      assert.equal(stripe.requests, 3);
      assert.equal(stripe.retries, 2);
      assert.deepEqual(waits, [375, 750]);
    });

    await t.step("Stripe-Should-Retry: false is final, even on a 429 or a 500", async () => {
      for (const status of [429, 500]) {
        await fake.reset({ catalog: "demo" });
        await fake.faults([{ kind: "status", status, should_retry: false, count: 1 }]);
        const { stripe, waits } = client(fake);
        const err = await listPage(stripe, "prices", null).catch((e) => e);
        assert.ok(err instanceof StripeError);
        assert.equal(err.status, status);
        assert.equal(err.attempts, 1);
        assert.equal(stripe.requests, 1);
        assert.deepEqual(waits, []);
      }
    });

    await t.step(
      "Stripe-Should-Retry: true retries even a 400; 409 and 429 retry; 404 does not",
      async () => {
        for (
          const [status, shouldRetry] of [[400, true], [409, undefined], [429, undefined]] as const
        ) {
          await fake.reset({ catalog: "demo" });
          await fake.faults([{ kind: "status", status, should_retry: shouldRetry, count: 1 }]);
          const { stripe } = client(fake);
          await listPage(stripe, "prices", null);
          assert.equal(stripe.requests, 2, `HTTP ${status}`);
        }
        await fake.reset({ catalog: "demo" });
        await fake.faults([{ kind: "status", status: 400, count: 1 }]);
        const { stripe } = client(fake);
        await assert.rejects(listPage(stripe, "prices", null), StripeError);
        assert.equal(stripe.requests, 1);
      },
    );

    await t.step("Retry-After is honoured", async () => {
      await fake.reset({ catalog: "demo" });
      await fake.faults([{ kind: "status", status: 429, retry_after: 3, count: 1 }]);
      const { stripe, waits } = client(fake);
      await listPage(stripe, "prices", null);
      assert.deepEqual(waits, [3000]);
    });

    await t.step("dropped connections and cut-off bodies are retried", async () => {
      for (const kind of ["drop", "truncated"] as const) {
        await fake.reset({ catalog: "demo" });
        await fake.faults([{ kind, count: 1 }]);
        const { stripe } = client(fake);
        const page = await listPage(stripe, "products", null);
        assert.ok(page.data.length > 0, kind);
        assert.equal(stripe.requests, 2, kind);
      }
    });

    await t.step("retries are bounded: 1 + max_retries attempts, then Stripe's error", async () => {
      await fake.reset({ catalog: "demo" });
      await fake.faults([{ kind: "status", status: 503, count: null }]);
      const { stripe, waits } = client(fake);
      const err = await listPage(stripe, "prices", null).catch((e) => e);
      assert.ok(err instanceof StripeError);
      assert.equal(err.status, 503);
      assert.equal(err.attempts, 4);
      assert.equal(stripe.requests, 4);
      assert.deepEqual(waits, [375, 750, 1500]);
    });

    await t.step("a body that is not JSON, or too large, is an error and not retried", async () => {
      await fake.reset({ catalog: "demo" });
      await fake.faults([{ kind: "malformed", count: 1 }]);
      let c = client(fake);
      await assert.rejects(listPage(c.stripe, "products", null), /not what was asked for/);
      assert.equal(c.stripe.requests, 1);
      await fake.faults([{ kind: "oversize", size_bytes: 200_000, count: 1 }]);
      c = client(fake, { maxResponseBytes: 64 << 10 });
      await assert.rejects(listPage(c.stripe, "products", null), /larger than 65536 bytes/);
      assert.equal(c.stripe.requests, 1);
    });

    await t.step(
      "a request Stripe never answers times out, and the timeout is retried",
      async () => {
        await fake.reset({ catalog: "demo" });
        await fake.faults([{ kind: "hang", count: 2 }]);
        const policy = { ...DEFAULT_POLICY, maxRetries: 1 };
        const { stripe } = client(fake, { policy, requestTimeoutMs: 200 });
        const err = await listPage(stripe, "products", null).catch((e) => e);
        assert.ok(err instanceof StripeError);
        assert.equal(err.status, 0);
        assert.match(err.message, /did not answer within 0.2 s/);
        assert.equal(stripe.requests, 2);
      },
    );

    await t.step("an error that quotes the key shows no key", async () => {
      await fake.reset({ catalog: "demo" });
      await fake.faults([{ kind: "echo_key", status: 400, count: 1 }]);
      const key = "custom_secret_4242";
      const { stripe } = client(fake, { apiKey: key });
      const err = await listPage(stripe, "products", null).catch((e) => e);
      assert.ok(err instanceof StripeError);
      const shown = JSON.stringify(err.toJSON()) + err.message + String(err.stack);
      assert.ok(!shown.includes("4242"), shown);
      assert.match(String(err.toJSON().message), /\[redacted\]/);
    });

    await t.step("a wrong key is Stripe's 401, not retried, and not shown", async () => {
      await fake.reset({ catalog: "demo" });
      const { stripe } = client(fake, { apiKey: "sk_test_wrongwrongwrong1234" });
      const err = await listPage(stripe, "products", null).catch((e) => e);
      assert.ok(err instanceof StripeError);
      assert.equal(err.status, 401);
      assert.equal(stripe.requests, 1);
      assert.ok(!JSON.stringify(err.toJSON()).includes("1234"));
    });
  } finally {
    await fake.stop();
  }
});

Deno.test("exact headers, and a gzip answer decoded (a capturing server)", async () => {
  const seen: { method: string; headers: Headers; body: string }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    seen.push({ method: req.method, headers: req.headers, body: await req.text() });
    const body = new Blob([
      JSON.stringify({ object: "list", data: [{ id: "prod_1" }], has_more: false }),
    ])
      .stream().pipeThrough(new CompressionStream("gzip"));
    return new Response(body, {
      headers: { "Content-Type": "application/json", "Content-Encoding": "gzip" },
    });
  });
  try {
    const stripe = new Stripe({
      apiKey: "sk_test_abc",
      apiBase: `http://127.0.0.1:${server.addr.port}/v1`,
    });
    const page = await stripe.listPage("products", [["limit", "100"]]);
    assert.deepEqual(page.data, [{ id: "prod_1" }]);
    const h = seen[0].headers;
    assert.equal(h.get("authorization"), "Bearer sk_test_abc");
    assert.equal(h.get("stripe-version"), "2026-10-28.endive");
    assert.equal(h.get("accept-encoding"), "gzip");
    assert.equal(h.get("accept"), "application/json");
    await stripe.post("webhook_endpoints", [["url", "https://x.example/a b"], [
      "enabled_events[]",
      "a.b",
    ]])
      .catch(() => {});
    assert.equal(seen[1].method, "POST");
    assert.equal(seen[1].headers.get("content-type"), "application/x-www-form-urlencoded");
    assert.equal(seen[1].body, "url=https%3A%2F%2Fx.example%2Fa+b&enabled_events%5B%5D=a.b");
  } finally {
    await server.shutdown();
  }
});
