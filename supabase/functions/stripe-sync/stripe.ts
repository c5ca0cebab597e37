// The only code that speaks HTTP to Stripe: key and version headers, form-encoded POSTs under one
// Idempotency-Key, timeouts, a size cap, retries (retry.ts), and the count of requests sent.
// Mirrors the extension's client (core/src/client/request.rs).

import { STRIPE_API_VERSION, USER_AGENT } from "./config.ts";
import { StripeError } from "./errors.ts";
import { decide, DEFAULT_POLICY, type Outcome, type Policy } from "./retry.ts";

export type Params = [string, string][];
export type JsonObject = Record<string, unknown>;

/** One page of a list: `{"object": "list", "data": [...], "has_more": bool}`. */
export interface ListPage {
  object: "list";
  data: JsonObject[];
  has_more: boolean;
}

export interface StripeOptions {
  apiKey: string;
  /** Ends in `/v1` (config.ts `apiBase`). */
  apiBase: string;
  policy?: Policy;
  requestTimeoutMs?: number;
  maxResponseBytes?: number;
  /** For tests: a clock-free sleep and a fixed jitter. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** Why one attempt failed, before the retry decision. */
type AttemptError =
  | { kind: "status"; status: number; headers: Headers; body: string }
  | { kind: "transport"; reason: string; timeout: boolean }
  | { kind: "final"; error: StripeError };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The query string of `params`, form-encoded in order (`ids[]=a&ids[]=b`). */
export function query(params: Params): string {
  return params.length ? "?" + new URLSearchParams(params).toString() : "";
}

export class Stripe {
  /** HTTP requests sent (every attempt, retries included): what a worker run's budget counts. */
  requests = 0;
  /** Of those, retries. */
  retries = 0;
  readonly #apiKey: string;
  readonly #base: string;
  readonly #policy: Policy;
  readonly #timeoutMs: number;
  readonly #maxBytes: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;

  constructor(o: StripeOptions) {
    this.#apiKey = o.apiKey;
    this.#base = o.apiBase.replace(/\/+$/, "");
    this.#policy = o.policy ?? DEFAULT_POLICY;
    this.#timeoutMs = o.requestTimeoutMs ?? 30_000;
    this.#maxBytes = o.maxResponseBytes ?? 16 << 20;
    this.#sleep = o.sleep ?? sleep;
    this.#random = o.random ?? Math.random;
  }

  /** The path of `endpoint` (its `/` separate segments) and then each of `ids`, percent-encoded. */
  path(endpoint: string, ...ids: string[]): string {
    return [...endpoint.split("/"), ...ids].map(encodeURIComponent).join("/");
  }

  /** `GET /v1/<path>?params` as one JSON object. */
  async get(path: string, params: Params = []): Promise<JsonObject> {
    return await this.#send("GET", path, params, undefined);
  }

  /** `POST /v1/<path>` with a form: the object Stripe answers. Every attempt carries one key. */
  async post(path: string, fields: Params): Promise<JsonObject> {
    return await this.#send("POST", path, [], {
      body: new URLSearchParams(fields).toString(),
      idempotencyKey: "stripe_fdw-" + randomHex(16),
    });
  }

  /** `GET /v1/<endpoint>?params` as one page of a list. */
  async listPage(endpoint: string, params: Params): Promise<ListPage> {
    const path = this.path(endpoint);
    const v = await this.get(path, params);
    if (v.object !== "list" || !Array.isArray(v.data) || typeof v.has_more !== "boolean") {
      throw this.#badBody(`GET /v1/${path}`, "expected a list object");
    }
    if (!v.data.every(isObject)) {
      throw this.#badBody(`GET /v1/${path}`, "a list whose data are not all objects");
    }
    return v as unknown as ListPage;
  }

  /** `GET /v1/<endpoint>/<id>`: the object, or null when Stripe says it does not exist or was deleted. */
  async retrieve(endpoint: string, id: string): Promise<JsonObject | null> {
    try {
      const v = await this.get(this.path(endpoint, id));
      return v.deleted === true ? null : v;
    } catch (e) {
      if (e instanceof StripeError && e.missing) return null;
      throw e;
    }
  }

  async #send(
    method: "GET" | "POST",
    path: string,
    params: Params,
    form: { body: string; idempotencyKey: string } | undefined,
  ): Promise<JsonObject> {
    const request = `${method} /v1/${path}`;
    const url = `${this.#base}/${path}${query(params)}`;
    const started = Date.now();
    for (let attempt = 1;; attempt++) {
      const r = await this.#attempt(method, url, form, request);
      if (r.ok) return r.value;
      const err = r.error;
      if (err.kind === "final") throw err.error;
      const outcome: Outcome = err.kind === "status"
        ? {
          kind: "status",
          status: err.status,
          shouldRetry: shouldRetry(err.headers.get("stripe-should-retry")),
          retryAfterMs: retryAfterMs(err.headers.get("retry-after")),
        }
        : { kind: "transport" };
      const d = decide(this.#policy, attempt, outcome, Date.now() - started, this.#random());
      if (!d.retry) throw this.#finalError(err, attempt, request);
      this.retries++;
      await this.#sleep(d.waitMs);
    }
  }

  async #attempt(
    method: "GET" | "POST",
    url: string,
    form: { body: string; idempotencyKey: string } | undefined,
    request: string,
  ): Promise<{ ok: true; value: JsonObject } | { ok: false; error: AttemptError }> {
    const headers = new Headers({
      "Authorization": `Bearer ${this.#apiKey}`,
      "Stripe-Version": STRIPE_API_VERSION,
      "User-Agent": USER_AGENT,
      "Accept": "application/json",
      "Accept-Encoding": "gzip",
    });
    if (form) {
      headers.set("Content-Type", "application/x-www-form-urlencoded");
      headers.set("Idempotency-Key", form.idempotencyKey);
    }
    const abort = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, this.#timeoutMs);
    this.requests++;
    try {
      let resp: Response;
      try {
        resp = await fetch(url, {
          method,
          headers,
          body: form?.body,
          signal: abort.signal,
          redirect: "manual",
        });
      } catch (e) {
        return { ok: false, error: { kind: "transport", reason: describe(e), timeout: timedOut } };
      }
      const requestId = resp.headers.get("request-id") ?? undefined;
      const ok = resp.status >= 200 && resp.status < 300;
      const body = await this.#readBody(resp);
      if (body.kind === "too_large") {
        return {
          ok: false,
          error: {
            kind: "final",
            error: new StripeError({
              status: resp.status,
              message: `Stripe's answer is larger than ${this.#maxBytes} bytes`,
              requestId,
              attempts: 1,
              request,
            }, this.#apiKey),
          },
        };
      }
      if (!ok) {
        // An error answer whose body cannot be read is still that answer: its status decides.
        const text = body.kind === "text" ? body.text : "";
        return {
          ok: false,
          error: { kind: "status", status: resp.status, headers: resp.headers, body: text },
        };
      }
      if (body.kind === "failed") {
        return { ok: false, error: { kind: "transport", reason: body.reason, timeout: timedOut } };
      }
      let v: unknown;
      try {
        v = JSON.parse(body.text);
      } catch {
        return {
          ok: false,
          error: { kind: "final", error: this.#badBody(request, "expected JSON", requestId) },
        };
      }
      if (!isObject(v)) {
        return {
          ok: false,
          error: {
            kind: "final",
            error: this.#badBody(request, "expected a JSON object", requestId),
          },
        };
      }
      return { ok: true, value: v };
    } finally {
      clearTimeout(timer);
    }
  }

  /** The body as text, read up to the size cap. */
  async #readBody(
    resp: Response,
  ): Promise<
    { kind: "text"; text: string } | { kind: "too_large" } | { kind: "failed"; reason: string }
  > {
    const declared = Number(resp.headers.get("content-length") ?? "NaN");
    if (declared > this.#maxBytes) {
      await resp.body?.cancel().catch(() => {});
      return { kind: "too_large" };
    }
    if (!resp.body) return { kind: "text", text: "" };
    const reader = resp.body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > this.#maxBytes) {
          await reader.cancel().catch(() => {});
          return { kind: "too_large" };
        }
        chunks.push(value);
      }
    } catch (e) {
      await reader.cancel().catch(() => {});
      return { kind: "failed", reason: describe(e) };
    }
    const all = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) {
      all.set(c, at);
      at += c.byteLength;
    }
    return { kind: "text", text: new TextDecoder().decode(all) };
  }

  #badBody(request: string, reason: string, requestId?: string): StripeError {
    return new StripeError(
      {
        status: 0,
        message: `Stripe's answer is not what was asked for: ${reason}`,
        requestId,
        attempts: 1,
        request,
      },
      this.#apiKey,
    );
  }

  #finalError(err: AttemptError, attempts: number, request: string): StripeError {
    if (err.kind === "final") return err.error;
    if (err.kind === "transport") {
      const host = new URL(this.#base).host;
      const message = err.timeout
        ? `Stripe (${host}) did not answer within ${this.#timeoutMs / 1000} s`
        : `could not reach Stripe (${host}): ${err.reason}`;
      return new StripeError({ status: 0, message, attempts, request }, this.#apiKey);
    }
    const requestId = err.headers.get("request-id") ?? undefined;
    let e: JsonObject | undefined;
    try {
      const parsed = JSON.parse(err.body);
      if (isObject(parsed) && isObject(parsed.error)) e = parsed.error;
    } catch {
      // not a Stripe error body: said below
    }
    const str = (v: unknown) => typeof v === "string" ? v : undefined;
    return new StripeError({
      status: err.status,
      message: str(e?.message) ??
        `Stripe answered HTTP ${err.status} with a body that is not a Stripe error`,
      type: str(e?.type),
      code: str(e?.code),
      param: str(e?.param),
      requestId,
      attempts,
      request,
    }, this.#apiKey);
  }
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function shouldRetry(v: string | null): boolean | undefined {
  return v === "true" ? true : v === "false" ? false : undefined;
}

/** `Retry-After` in whole seconds (the only form Stripe sends), as milliseconds. */
function retryAfterMs(v: string | null): number | undefined {
  if (v === null || !/^\s*\d+\s*$/.test(v)) return undefined;
  return Number(v.trim()) * 1000;
}

function describe(e: unknown): string {
  if (e instanceof Error) {
    const cause = e.cause instanceof Error ? `: ${e.cause.message}` : "";
    return e.message + cause;
  }
  return String(e);
}

function randomHex(bytes: number): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
