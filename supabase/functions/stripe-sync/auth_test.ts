// The bearer check of /worker and /setup, and the settings' checks (messages name, never show).

import assert from "node:assert/strict";
import { bearerMatches, bearerToken } from "./auth.ts";
import { apiBase, loadConfig } from "./config.ts";

Deno.test("the bearer secret matches only itself", async () => {
  const s = "s3cret-value";
  assert.equal(await bearerMatches(`Bearer ${s}`, s), true);
  assert.equal(await bearerMatches(`bearer   ${s} `, s), true);
  for (
    const h of [null, "", s, `Bearer ${s}x`, `Bearer ${s.slice(0, -1)}`, `Basic ${s}`, "Bearer "]
  ) {
    assert.equal(await bearerMatches(h, s), false, String(h));
  }
  assert.equal(await bearerMatches("Bearer ", ""), false, "an unset secret matches nothing");
  assert.equal(await bearerMatches("Bearer x", undefined), false);
  assert.equal(bearerToken("Bearer a b"), "");
});

Deno.test("settings: defaults, the API base, and errors that name but never show", () => {
  const env = (m: Record<string, string>) => ({ get: (k: string) => m[k] });
  const c = loadConfig(env({ STRIPE_API_KEY: "sk_test_x" }));
  assert.equal(c.apiBase, "https://api.stripe.com/v1");
  assert.equal(c.server, "stripe");
  assert.equal(c.maxRequests, 50);
  assert.equal(c.workerSecret, undefined);
  assert.equal(apiBase("http://127.0.0.1:1234"), "http://127.0.0.1:1234/v1");
  assert.equal(apiBase("http://127.0.0.1:1234/v1/"), "http://127.0.0.1:1234/v1");
  assert.throws(() => loadConfig(env({})), /STRIPE_API_KEY is not set/);
  const bad = "sk_test_has space";
  assert.throws(
    () => loadConfig(env({ STRIPE_API_KEY: bad })),
    (e: Error) => !e.message.includes("has space"),
  );
  assert.throws(
    () => loadConfig(env({ STRIPE_API_KEY: "k", STRIPE_SYNC_MAX_REQUESTS: "0" })),
    /STRIPE_SYNC_MAX_REQUESTS/,
  );
  assert.throws(
    () => loadConfig(env({ STRIPE_API_KEY: "k", STRIPE_API_BASE: "ftp://x" })),
    /STRIPE_API_BASE/,
  );
});
