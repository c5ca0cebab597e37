// POST .../stripe-sync/webhook: one Stripe delivery, in one transaction: webhook_receive verifies
// it and says what to read, the reads from Stripe, webhook_apply (with its read_again loop).
// 200 with the engine's answer only after COMMIT; 400 when the signature is refused; 500 otherwise
// (Stripe delivers again).

import { readAll, readRequests, settle } from "./apply.ts";
import type { Ctx } from "./context.ts";
import * as db from "./db.ts";
import {
  BodyTooLarge,
  describeError,
  json,
  logError,
  logInfo,
  readText,
  sqlState,
} from "./http.ts";

/** Larger than any event Stripe sends; a bound on what an unauthenticated caller can make us hold. */
const MAX_BODY = 1 << 20;

export async function webhook(req: Request, ctx: Ctx): Promise<Response> {
  const signature = req.headers.get("stripe-signature");
  if (!signature) return json(400, { error: "missing Stripe-Signature header" });
  let payload: string;
  try {
    payload = await readText(req, MAX_BODY);
  } catch (e) {
    if (e instanceof BodyTooLarge) return json(413, { error: "payload too large" });
    return json(400, { error: "could not read the payload" });
  }
  // Postgres text holds no NUL, and no Stripe event has one: refused here, not retried.
  if (payload.includes("\u0000")) return json(400, { error: "the payload is not a Stripe event" });
  const { server } = ctx.config;
  const stripe = ctx.stripe;
  try {
    const answer = await ctx.sql().begin(async (tx) => {
      const received = await db.webhookReceive(tx, payload, signature, server);
      if (received.action === "duplicate") return received;
      const reads = await readAll(
        tx,
        stripe,
        readRequests(received.read, "webhook_receive's read"),
      );
      return await settle(
        tx,
        stripe,
        server,
        () => db.webhookApply(tx, payload, signature, reads, server),
      );
    });
    const { event, type, action, rows } = answer;
    logInfo("webhook", { event, type, action, rows, requests: stripe.requests });
    return json(200, answer);
  } catch (e) {
    if (sqlState(e) === "28000") {
      logError("webhook", { status: 400, ...describeError(e, ctx.secrets) });
      return json(400, { error: "webhook signature refused" });
    }
    logError("webhook", {
      status: 500,
      requests: stripe.requests,
      ...describeError(e, ctx.secrets),
    });
    return json(500, { error: "the event was not applied; Stripe will deliver it again" });
  }
}
