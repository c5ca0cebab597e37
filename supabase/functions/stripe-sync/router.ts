// The router of the function's three routes: POST .../webhook, and with the worker bearer secret
// POST .../worker and POST .../setup. Settings are read per request, so a missing one is an answer
// that names it rather than a function that fails to boot.

import { bearerMatches } from "./auth.ts";
import { ConfigError } from "./config.ts";
import { type Ctx, makeContext } from "./context.ts";
import { setup } from "./endpoint.ts";
import { describeError, json, logError, logInfo } from "./http.ts";
import { webhook } from "./webhook.ts";
import { type Run, work } from "./worker.ts";

async function worker(ctx: Ctx): Promise<Response> {
  const run: Run = {
    server: ctx.config.server,
    stopped: "error",
    steps: [],
    requests: 0,
    retries: 0,
    rows: 0,
  };
  try {
    await work(ctx, run);
    const { server, stopped, requests, retries, rows } = run;
    logInfo("worker", { server, stopped, steps: run.steps.length, requests, retries, rows });
    return json(200, run);
  } catch (e) {
    run.requests = ctx.stripe.requests;
    run.retries = ctx.stripe.retries;
    const info = describeError(e, ctx.secrets);
    logError("worker", { ...info, steps: run.steps.length, requests: run.requests });
    return json(500, { ...run, error: info });
  }
}

/** The last segment of the path: `/functions/v1/stripe-sync/webhook` routes as `webhook`. */
function route(url: string): string {
  const path = new URL(url).pathname.replace(/\/+$/, "");
  return path.slice(path.lastIndexOf("/") + 1);
}

export async function handle(req: Request): Promise<Response> {
  const name = route(req.url);
  if (!["webhook", "worker", "setup"].includes(name)) {
    return json(404, { error: "no such route: POST .../stripe-sync/webhook, /worker or /setup" });
  }
  if (req.method !== "POST") {
    return new Response(null, { status: 405, headers: { Allow: "POST" } });
  }
  let ctx: Ctx;
  try {
    ctx = makeContext();
  } catch (e) {
    const message = e instanceof ConfigError ? e.message : "cannot read the settings";
    logError(name, { error: "config", message });
    return json(500, { error: "the function is not configured", message });
  }
  if (name === "webhook") return await webhook(req, ctx);
  if (!ctx.config.workerSecret) {
    logError(name, { error: "config", message: "STRIPE_SYNC_WORKER_SECRET is not set" });
    return json(500, {
      error: "the function is not configured: STRIPE_SYNC_WORKER_SECRET is not set",
    });
  }
  if (!(await bearerMatches(req.headers.get("authorization"), ctx.config.workerSecret))) {
    return json(401, { error: "unauthorized" });
  }
  try {
    return name === "worker" ? await worker(ctx) : await setup(req, ctx);
  } catch (e) {
    const info = describeError(e, ctx.secrets);
    logError(name, info);
    return json(500, info);
  }
}
