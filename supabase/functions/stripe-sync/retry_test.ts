// The retry decision table, the same cases as core/src/client/retry.rs's tests.

import assert from "node:assert/strict";
import { decide, DEFAULT_POLICY, type Outcome } from "./retry.ts";

const status = (s: number, shouldRetry?: boolean, retryAfterS?: number): Outcome => ({
  kind: "status",
  status: s,
  shouldRetry,
  retryAfterMs: retryAfterS === undefined ? undefined : retryAfterS * 1000,
});
const retry = (waitMs: number) => ({ retry: true, waitMs });
const giveUp = (reason: string) => ({ retry: false, reason });

Deno.test("retry decision table", () => {
  const p = DEFAULT_POLICY;
  const cases: [string, number, Outcome, number, number, unknown][] = [
    ["429 retries", 1, status(429), 0, 0, retry(250)],
    ["409 retries", 1, status(409), 0, 1, retry(500)],
    ["500 retries", 2, status(500), 0, 1, retry(1000)],
    ["503 retries", 3, status(503), 0, 1, retry(2000)],
    ["transport retries", 1, { kind: "transport" }, 0, 1, retry(500)],
    ["400 does not", 1, status(400), 0, 0, giveUp("not_retryable")],
    ["401 does not", 1, status(401), 0, 0, giveUp("not_retryable")],
    ["404 does not", 1, status(404), 0, 0, giveUp("not_retryable")],
    ["Should-Retry false beats 429", 1, status(429, false), 0, 0, giveUp("stripe_said_no")],
    ["Should-Retry false beats 500", 1, status(500, false), 0, 0, giveUp("stripe_said_no")],
    ["Should-Retry true makes 400 retry", 1, status(400, true), 0, 1, retry(500)],
    ["Retry-After is honoured", 1, status(429, undefined, 3), 0, 1, retry(3000)],
    ["Retry-After never shortens backoff", 3, status(429, undefined, 0), 0, 1, retry(2000)],
    ["out of retries", 4, status(500), 0, 0, giveUp("out_of_retries")],
    ["past the deadline", 1, status(500), 59_900, 1, giveUp("past_deadline")],
    ["Retry-After past the deadline", 1, status(429, true, 120), 0, 0, giveUp("past_deadline")],
  ];
  for (const [name, attempt, outcome, elapsed, jitter, want] of cases) {
    assert.deepEqual(decide(p, attempt, outcome, elapsed, jitter), want, name);
  }
});

Deno.test("zero retries never retries; backoff is capped", () => {
  assert.deepEqual(
    decide({ ...DEFAULT_POLICY, maxRetries: 0 }, 1, { kind: "transport" }, 0, 0),
    giveUp("out_of_retries"),
  );
  assert.deepEqual(
    decide(
      { ...DEFAULT_POLICY, maxRetries: 10, deadlineMs: 600_000 },
      10,
      { kind: "transport" },
      0,
      1,
    ),
    retry(8000),
  );
});
