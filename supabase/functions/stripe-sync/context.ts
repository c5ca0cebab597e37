// What one request runs with: the checked settings, the database pool, a Stripe client that counts
// this request's calls, and the secrets no message may show.

import { type Config, ConfigError, loadConfig } from "./config.ts";
import { connect, type Sql } from "./db.ts";
import { Stripe } from "./stripe.ts";

export interface Ctx {
  config: Config;
  /** The pool; an error naming SUPABASE_DB_URL when it is not set. */
  sql(): Sql;
  stripe: Stripe;
  /** The API key, the worker secret and the database password: scrubbed from every message. */
  secrets: string[];
}

function dbPassword(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const p = new URL(url).password;
    return p ? decodeURIComponent(p) : undefined;
  } catch {
    return undefined;
  }
}

export function makeContext(env: { get(name: string): string | undefined } = Deno.env): Ctx {
  const config = loadConfig(env);
  const secrets = [config.apiKey, config.workerSecret, dbPassword(config.dbUrl)]
    .filter((s): s is string => !!s);
  return {
    config,
    sql() {
      if (!config.dbUrl) throw new ConfigError("SUPABASE_DB_URL is not set");
      return connect(config.dbUrl);
    },
    stripe: new Stripe({ apiKey: config.apiKey, apiBase: config.apiBase }),
    secrets,
  };
}
