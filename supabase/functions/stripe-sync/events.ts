// Reads of Stripe's event log for the worker: the newest event of some types (where a full sync
// starts), and one page of events newer than the cursor (catch-up). GET /v1/events.

import type { JsonObject, ListPage, Params, Stripe } from "./stripe.ts";

/** Stripe's limit on `types[]`. */
export const MAX_TYPES = 20;

function typeParams(types: readonly string[]): Params {
  if (types.length === 0 || types.length > MAX_TYPES) {
    throw new Error(`events are listed for 1 to ${MAX_TYPES} event types, not ${types.length}`);
  }
  return types.map((t) => ["types[]", t]);
}

/** The newest event of `types`, or null when Stripe has none (`GET /v1/events?limit=1&types[]=…`). */
export async function newestEvent(
  stripe: Stripe,
  types: readonly string[],
): Promise<JsonObject | null> {
  const page = await stripe.listPage("events", [...typeParams(types), ["limit", "1"]]);
  return page.data[0] ?? null;
}

/**
 * The page of events of `types` just newer than `after`, created at or after `createdGte`
 * (`ending_before` walks toward newer events; Stripe still sends each page newest first). With no
 * `after` (Stripe had no such event at the last full sync), the newest page since `createdGte`.
 */
export async function eventsAfter(
  stripe: Stripe,
  types: readonly string[],
  createdGte: number | null,
  after: string | null,
): Promise<ListPage> {
  const params = typeParams(types);
  if (createdGte !== null) params.push(["created[gte]", String(createdGte)]);
  if (after !== null) params.push(["ending_before", after]);
  params.push(["limit", "100"]);
  return await stripe.listPage("events", params);
}
