// The retry decision, a pure function of what happened, how often and how long it took: the same
// table as the extension's client (core/src/client/retry.rs).

/** What one attempt ended with, as far as retrying is concerned. */
export type Outcome =
  | {
    kind: "status";
    status: number;
    /** Stripe's `Stripe-Should-Retry` header, when sent as `true` or `false`. */
    shouldRetry?: boolean;
    /** `Retry-After`, in milliseconds. */
    retryAfterMs?: number;
  }
  /** No usable answer: connection refused or reset, a timeout, a body cut short. */
  | { kind: "transport" };

export interface Policy {
  maxRetries: number;
  /** No retry starts after this long since the first attempt. */
  deadlineMs: number;
  baseMs: number;
  capMs: number;
}

/** The extension's defaults: 3 retries, 60 s deadline, 0.5 s doubling to at most 8 s. */
export const DEFAULT_POLICY: Policy = {
  maxRetries: 3,
  deadlineMs: 60_000,
  baseMs: 500,
  capMs: 8_000,
};

export type Decision =
  | { retry: true; waitMs: number }
  | {
    retry: false;
    reason: "not_retryable" | "stripe_said_no" | "out_of_retries" | "past_deadline";
  };

/**
 * Decide after attempt number `attempt` (1-based) failed with `outcome`, `elapsedMs` after the first
 * attempt started. `jitter` in [0, 1) spreads the backoff (0.5x to 1x of the exponential step).
 */
export function decide(
  policy: Policy,
  attempt: number,
  outcome: Outcome,
  elapsedMs: number,
  jitter: number,
): Decision {
  if (outcome.kind === "status") {
    if (outcome.shouldRetry === false) return { retry: false, reason: "stripe_said_no" };
    const retryable = outcome.shouldRetry === true || outcome.status === 429 ||
      outcome.status === 409 || outcome.status >= 500;
    if (!retryable) return { retry: false, reason: "not_retryable" };
  }
  if (attempt > policy.maxRetries) return { retry: false, reason: "out_of_retries" };
  const exp = Math.min(policy.baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 16), policy.capMs);
  const backoff = exp * (0.5 + 0.5 * Math.min(Math.max(jitter, 0), 1));
  const waitMs = outcome.kind === "status" && outcome.retryAfterMs !== undefined
    ? Math.max(outcome.retryAfterMs, backoff)
    : backoff;
  if (elapsedMs + waitMs > policy.deadlineMs) return { retry: false, reason: "past_deadline" };
  return { retry: true, waitMs };
}
