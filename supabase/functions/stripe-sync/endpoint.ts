// POST .../stripe-sync/setup {"url": "..."}: make the Stripe webhook endpoint that delivers to this
// function, subscribed to the event types the registered syncs need (endpoint_events, never `*`),
// and keep the signing secret Stripe answers with set_webhook_secret. The secret is in no answer,
// message or log line.

import { STRIPE_API_VERSION } from "./config.ts";
import type { Ctx } from "./context.ts";
import * as db from "./db.ts";
import { describeError, json, logError, readText } from "./http.ts";
import type { Params } from "./stripe.ts";

/** The route every endpoint this function makes delivers to. */
const ROUTE = "/stripe-sync/webhook";

/** The URL the endpoint delivers to, from the request body `{"url": "https://..."}`: this
 * function's own webhook route (under the project's URL when Supabase gives it), never another
 * host, which the worker secret must not be enough to send customers' events to. */
async function targetUrl(req: Request, projectUrl: string | undefined): Promise<string | Response> {
  let body: unknown;
  try {
    body = JSON.parse(await readText(req, 64 << 10));
  } catch {
    return json(400, {
      error: 'the body must be JSON: {"url": "https://.../stripe-sync/webhook"}',
    });
  }
  const url = (body as { url?: unknown } | null)?.url;
  if (typeof url !== "string" || url === "") {
    return json(400, { error: 'the body must name the webhook URL: {"url": "https://..."}' });
  }
  let u: URL;
  try {
    u = new URL(url);
    if (u.protocol !== "https:" && u.protocol !== "http:") throw new Error();
  } catch {
    return json(400, { error: "url must be an http(s) URL" });
  }
  const own = projectUrl === undefined ? undefined : `${projectUrl}/functions/v1${ROUTE}`;
  if (own !== undefined ? url !== own : !u.pathname.endsWith(ROUTE) || u.search !== "") {
    return json(400, {
      error: `url must be this function's webhook route: ${
        own ?? `https://<project>.supabase.co/functions/v1${ROUTE}`
      }`,
    });
  }
  return url;
}

/** This function's endpoint for `server` and `url`, if Stripe has one already (its id). */
async function existing(ctx: Ctx, server: string, url: string): Promise<string | undefined> {
  let after: string | undefined;
  for (let pages = 0; pages < 10; pages++) {
    const params: Params = [["limit", "100"]];
    if (after) params.push(["starting_after", after]);
    const page = await ctx.stripe.listPage("webhook_endpoints", params);
    for (const e of page.data) {
      const meta = (e.metadata ?? {}) as Record<string, unknown>;
      if (e.url === url && meta.stripe_fdw === "stripe-sync" && meta.server === server) {
        return typeof e.id === "string" ? e.id : "(no id)";
      }
    }
    if (!page.has_more || page.data.length === 0) return undefined;
    const last = page.data[page.data.length - 1].id;
    after = typeof last === "string" ? last : undefined;
  }
  return undefined;
}

export async function setup(req: Request, ctx: Ctx): Promise<Response> {
  const url = await targetUrl(req, ctx.config.projectUrl);
  if (url instanceof Response) return url;
  const { server } = ctx.config;
  const sql = ctx.sql();
  let events: string[];
  try {
    events = await db.endpointEvents(sql, server);
  } catch (e) {
    const info = describeError(e, ctx.secrets);
    logError("setup", info);
    return json(500, info);
  }
  if (events.length === 0) {
    return json(409, {
      error: `no event types to subscribe to: register a sync for server ${server} first`,
    });
  }
  if (events.includes("*")) {
    return json(500, {
      error: "endpoint_events answered '*': refusing to subscribe to every event",
    });
  }
  // A second endpoint would replace the first one's secret: the first one's deliveries would be
  // refused until Stripe disables it.
  let already: string | undefined;
  try {
    already = await existing(ctx, server, url);
  } catch (e) {
    const info = describeError(e, ctx.secrets);
    logError("setup", info);
    return json(502, info);
  }
  if (already !== undefined) {
    return json(409, {
      error:
        `Stripe has this function's endpoint ${already} for ${url} already. To make a new one ` +
        `(a new signing secret), delete ${already} in the Dashboard (Developers, Webhooks) and call setup again`,
      id: already,
    });
  }
  const fields: Params = [
    ["url", url],
    ...events.map((e): [string, string] => ["enabled_events[]", e]),
  ];
  fields.push(
    ["api_version", STRIPE_API_VERSION],
    ["description", `stripe_fdw stripe-sync edge function, server ${server}`],
    ["metadata[server]", server],
    ["metadata[stripe_fdw]", "stripe-sync"],
  );
  let made;
  try {
    made = await ctx.stripe.post("webhook_endpoints", fields);
  } catch (e) {
    const info = describeError(e, ctx.secrets);
    logError("setup", info);
    return json(502, info);
  }
  const id = typeof made.id === "string" ? made.id : "(no id)";
  const secret = made.secret;
  if (typeof secret !== "string" || secret === "") {
    return json(502, {
      error: `Stripe's answer for webhook endpoint ${id} has no signing secret: delete it in the ` +
        "Dashboard (Developers, Webhooks) and call setup again",
    });
  }
  try {
    await db.setWebhookSecret(sql, server, secret);
  } catch (e) {
    const info = describeError(e, [...ctx.secrets, secret]);
    logError("setup", { endpoint: id, ...info });
    return json(500, {
      error: `the webhook endpoint ${id} was made in Stripe, but its signing secret could not be ` +
        `kept: delete endpoint ${id} (Dashboard: Developers, Webhooks) and call setup again`,
      cause: info,
    });
  }
  return json(200, {
    id,
    url: made.url,
    enabled_events: made.enabled_events,
    api_version: made.api_version,
    status: made.status,
    livemode: made.livemode,
    server,
  });
}
