// POST .../stripe-sync/worker (pg_cron): a bounded run of full sync and catch-up steps. Asks
// worker_plan what to do, does it, and again, until idle, caught up, or STRIPE_SYNC_MAX_REQUESTS
// Stripe requests were made; the next run resumes where worker_plan says (the cursor is the
// database's). Each step commits on its own.

import { readAll, readRequests, settle } from "./apply.ts";
import type { Ctx } from "./context.ts";
import * as db from "./db.ts";
import { StripeError } from "./errors.ts";
import { eventsAfter, newestEvent } from "./events.ts";
import { sqlState } from "./http.ts";
import { listPage } from "./reads.ts";

export interface Step {
  do: string;
  object?: string;
  /** Stripe requests the step made. */
  requests: number;
  /** The engine's answer to the step's last call. */
  answer?: db.Answer;
}

export interface Run {
  server: string;
  /** Why the run ended: idle, done, caught_up, max_requests, max_steps, or error. */
  stopped: string;
  steps: Step[];
  requests: number;
  retries: number;
  rows: number;
}

const str = (v: unknown, what: string): string => {
  if (typeof v !== "string") throw new Error(`worker_plan's ${what} is not a string`);
  return v;
};
const strings = (v: unknown, what: string): string[] => {
  if (!Array.isArray(v) || !v.every((t) => typeof t === "string")) {
    throw new Error(`worker_plan's ${what} is not a list of strings`);
  }
  return v;
};
const optional = <T>(v: unknown, f: (v: unknown) => T): T | null =>
  v === undefined || v === null ? null : f(v);

/** Rows an answer says it wrote (`rows`), 0 when it says none. */
function rowsOf(a: db.Answer | undefined): number {
  return typeof a?.rows === "number" ? a.rows : 0;
}

/** Stripe no longer has the object a full read's next page starts after (it was deleted). */
function cursorGone(e: unknown): boolean {
  return e instanceof StripeError && e.code === "resource_missing" && e.param === "starting_after";
}

/** Stripe no longer has the cursor event (it keeps 30 days): `ending_before` names a missing event. */
function cursorMissing(e: unknown): boolean {
  return e instanceof StripeError && e.code === "resource_missing" && e.param === "ending_before";
}

/**
 * Run steps into `run` (so a caller that catches an error still has what was done and committed).
 */
export async function work(ctx: Ctx, run: Run): Promise<void> {
  const { server, maxRequests } = ctx.config;
  const sql = ctx.sql();
  const stripe = ctx.stripe;
  // A step that makes no request (sync_finish) still ends: this bounds a plan that never moves.
  const maxSteps = maxRequests + 20;
  for (;;) {
    run.requests = stripe.requests;
    run.retries = stripe.retries;
    if (stripe.requests >= maxRequests) return void (run.stopped = "max_requests");
    if (run.steps.length >= maxSteps) return void (run.stopped = "max_steps");
    const plan = await db.workerPlan(sql, server);
    const before = stripe.requests;
    const step: Step = { do: String(plan.do), requests: 0 };
    let stop: string | undefined;
    switch (plan.do) {
      case "idle":
      case "done":
        return void (run.stopped = plan.do);
      case "sync_start": {
        const types = strings(plan.types, "types");
        const readFrom = await db.readTick(sql);
        const newest = await newestEvent(stripe, types);
        step.answer = await db.syncStart(sql, server, readFrom, newest);
        break;
      }
      case "sync_page": {
        step.object = str(plan.object, "object");
        const after = optional(plan.starting_after, (v) => str(v, "starting_after"));
        const run = plan.run;
        if (typeof run !== "number" && typeof run !== "string") {
          throw new Error("worker_plan's run is not a tick");
        }
        let page;
        try {
          page = await listPage(stripe, step.object, after);
        } catch (e) {
          if (!cursorGone(e)) throw e;
          // The page cursor (the last object read) was deleted between runs: Stripe cannot page
          // on from it. The full read starts over (worker_plan says so after request_sync).
          await db.requestSync(sql, server);
          step.answer = { restarted: `Stripe no longer has ${after}, the full read's page cursor` };
          break;
        }
        try {
          step.answer = await db.syncPage(sql, server, step.object, page, String(run));
        } catch (e) {
          // Another run started the full read over meanwhile: this page may be older than it.
          // Not stored; worker_plan says where the new read is.
          if (sqlState(e) !== "55000") throw e;
          step.answer = { superseded: true };
        }
        break;
      }
      case "sync_finish":
        step.answer = await sql.begin((tx) =>
          settle(tx, stripe, server, () => db.syncFinish(tx, server))
        );
        break;
      case "catch_up": {
        const types = strings(plan.types, "types");
        const createdGte = optional(plan.created_gte, (v) => {
          if (typeof v !== "number") throw new Error("worker_plan's created_gte is not a number");
          return v;
        });
        // No cursor event: Stripe had none of these when the last full sync began.
        const after = optional(plan.after, (v) => str(v, "after"));
        let page;
        try {
          page = await eventsAfter(stripe, types, createdGte, after);
        } catch (e) {
          if (!cursorMissing(e)) throw e;
          // Events were missed for good: only a full sync makes the tables right again.
          await db.requestSync(sql, server);
          step.answer = { full_sync: `Stripe no longer has event ${after}, the last one applied` };
          break;
        }
        if (after === null && page.has_more) {
          // More than a page since a sync that saw no event: walking them oldest first would take
          // a cursor there is none of. A full sync is as right, and bounded the same way.
          await db.requestSync(sql, server);
          step.answer = { full_sync: "more than a page of events since a full sync that saw none" };
          break;
        }
        // As Stripe sent them, newest first: within one second that order is the only one.
        const events = page.data;
        step.answer = await sql.begin(async (tx) => {
          const planned = await db.catchUpPlan(tx, server, events);
          const reads = await readAll(
            tx,
            stripe,
            readRequests(planned.read, "catch_up_plan's read"),
          );
          return await settle(tx, stripe, server, () => db.catchUpApply(tx, server, events, reads));
        });
        // Caught up when Stripe has no newer page: asking again would only cost an empty request.
        if (!("full_sync" in step.answer) && !page.has_more) stop = "caught_up";
        break;
      }
      default:
        throw new Error(
          `worker_plan answered a step this function does not know: ${JSON.stringify(plan.do)}`,
        );
    }
    step.requests = stripe.requests - before;
    run.steps.push(step);
    run.rows += rowsOf(step.answer);
    if (stop) {
      run.requests = stripe.requests;
      run.retries = stripe.retries;
      return void (run.stopped = stop);
    }
  }
}
