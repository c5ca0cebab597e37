// The function's settings, read once from its environment (Supabase function secrets) and checked.
// Error messages name a missing or bad variable, never its value.

/** The Stripe API version whose object shapes the engine's columns follow (core/src/options.rs). */
export const STRIPE_API_VERSION = "2026-10-28.endive";

/** Sent as User-Agent, as the extension's client sends `stripe_fdw/<version>`. */
export const USER_AGENT = "stripe_fdw/0.1.0 (stripe-sync edge function)";

export interface Config {
  /** Stripe's secret or restricted key. Never logged, never in a message. */
  apiKey: string;
  /** Base of every Stripe request, ending in `/v1` (no trailing slash). */
  apiBase: string;
  /** postgres:// URL of the database; absent when only the Stripe side is used (tests). */
  dbUrl: string | undefined;
  /** The `server` name every SQL call is made for. */
  server: string;
  /** The bearer secret of /worker and /setup; absent: those routes refuse every call. */
  workerSecret: string | undefined;
  /** Stripe requests one worker run may make before it stops (the next run resumes). */
  maxRequests: number;
  /** The project's URL (Supabase gives every function SUPABASE_URL): /setup accepts only this
   * function's own webhook route under it. Absent (a local run): any URL ending in that route. */
  projectUrl: string | undefined;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

type Env = { get(name: string): string | undefined };

function nonEmpty(env: Env, name: string): string | undefined {
  const v = env.get(name);
  return v === undefined || v.trim() === "" ? undefined : v;
}

/** The API base as the requests use it: `https://api.stripe.com` becomes `https://api.stripe.com/v1`. */
export function apiBase(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError("STRIPE_API_BASE is not a URL (e.g. https://api.stripe.com)");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ConfigError("STRIPE_API_BASE must be an http(s) URL");
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new ConfigError("STRIPE_API_BASE takes no query, fragment or credentials");
  }
  const path = url.pathname.replace(/\/+$/, "");
  return url.origin + (path.endsWith("/v1") ? path : path + "/v1");
}

export function loadConfig(env: Env = Deno.env): Config {
  const apiKey = nonEmpty(env, "STRIPE_API_KEY");
  if (apiKey === undefined) throw new ConfigError("STRIPE_API_KEY is not set");
  if (!/^[!-~]+$/.test(apiKey)) {
    throw new ConfigError("STRIPE_API_KEY must be printable ASCII without spaces");
  }
  const max = nonEmpty(env, "STRIPE_SYNC_MAX_REQUESTS") ?? "50";
  const maxRequests = Number(max);
  if (!/^\d+$/.test(max.trim()) || maxRequests < 1 || maxRequests > 10000) {
    throw new ConfigError("STRIPE_SYNC_MAX_REQUESTS must be a whole number from 1 to 10000");
  }
  return {
    apiKey,
    apiBase: apiBase(nonEmpty(env, "STRIPE_API_BASE") ?? "https://api.stripe.com"),
    dbUrl: nonEmpty(env, "SUPABASE_DB_URL"),
    server: nonEmpty(env, "STRIPE_SYNC_SERVER") ?? "stripe",
    workerSecret: nonEmpty(env, "STRIPE_SYNC_WORKER_SECRET"),
    maxRequests,
    projectUrl: nonEmpty(env, "SUPABASE_URL")?.replace(/\/+$/, ""),
  };
}
