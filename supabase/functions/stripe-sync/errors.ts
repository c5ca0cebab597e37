// What a failed Stripe request says (Stripe's own error, or why there was no answer), scrubbed of
// the API key and of anything shaped like a Stripe secret, as core/src/error.rs does.

const SECRET_PREFIXES = ["sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_"];

/** `text` without `secrets` and without anything that looks like a Stripe key or signing secret. */
export function scrub(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text;
  for (const s of secrets) {
    if (s) out = out.split(s).join("[redacted]");
  }
  for (const p of SECRET_PREFIXES) {
    out = out.replace(new RegExp(p + "[A-Za-z0-9_*]*", "g"), "[redacted]");
  }
  return out;
}

export interface StripeErrorInit {
  /** HTTP status; 0 when there was no usable answer. */
  status: number;
  message: string;
  type?: string;
  code?: string;
  param?: string;
  requestId?: string;
  attempts: number;
  /** The request, as `GET /v1/products` (no query: it may hold ids, never a secret, but it is long). */
  request: string;
}

/** A Stripe request that failed for good (after its retries). Every text in it is scrubbed. */
export class StripeError extends Error {
  override name = "StripeError";
  readonly status: number;
  readonly type?: string;
  readonly code?: string;
  readonly param?: string;
  readonly requestId?: string;
  readonly attempts: number;
  readonly request: string;

  constructor(init: StripeErrorInit, apiKey: string) {
    const s = (t: string | undefined) => t === undefined ? undefined : scrub(t, [apiKey]);
    super(scrub(init.message, [apiKey]));
    this.status = init.status;
    this.type = s(init.type);
    this.code = s(init.code);
    this.param = s(init.param);
    this.requestId = s(init.requestId);
    this.attempts = init.attempts;
    this.request = s(init.request) ?? "";
  }

  /** Stripe said the object does not exist (`404`, `resource_missing`). */
  get missing(): boolean {
    return this.status === 404 && this.code === "resource_missing";
  }

  /** What the function reports: Stripe's words and where they came from. */
  toJSON(): Record<string, unknown> {
    return {
      error: "stripe",
      message: this.message,
      status: this.status,
      type: this.type,
      code: this.code,
      param: this.param,
      request_id: this.requestId,
      request: this.request,
      attempts: this.attempts,
    };
  }
}
