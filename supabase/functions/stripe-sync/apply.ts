// Reading what the engine asks for and handing it over: each `{object, ids}` read after its own
// read_tick(), and the `read_again` loop (read those ids, apply_objects them, call again).

import * as db from "./db.ts";
import { readIds } from "./reads.ts";
import type { Stripe } from "./stripe.ts";

/** What the engine asks to be read: `[{"object": "products", "ids": ["prod_1"]}, ...]`. */
export interface ReadRequest {
  object: string;
  ids: string[];
}

/** What a read hands over: `{"object", "read_from", "read_to", "objects", "gone"}`. */
export interface Read {
  object: string;
  /** The ticks around the read, as JSON numbers (strings only if they were beyond 2^53). */
  read_from: number | string;
  read_to: number | string;
  objects: unknown[];
  gone: string[];
}

const tickJson = (t: string): number | string => {
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : t;
};

/** Rounds of `read_again` one call may take before the run gives up (each round rereads). */
const MAX_ROUNDS = 8;
/** How deep `read_again` answers to the rereads' own apply_objects may nest. */
const MAX_DEPTH = 4;

/** `v` as a list of read requests; anything else is the engine breaking the contract. */
export function readRequests(v: unknown, what: string): ReadRequest[] {
  if (v === undefined || v === null) return [];
  const ok = Array.isArray(v) &&
    v.every((r) =>
      typeof r === "object" && r !== null && typeof r.object === "string" &&
      Array.isArray(r.ids) && r.ids.every((id: unknown) => typeof id === "string")
    );
  if (!ok) throw new Error(`${what} is not a list of {"object", "ids"}`);
  return (v as ReadRequest[]).map((r) => ({ object: r.object, ids: r.ids }));
}

/** Read every request from Stripe, parents first as listed, each between two read_tick()s. */
export async function readAll(tx: db.Db, stripe: Stripe, reqs: ReadRequest[]): Promise<Read[]> {
  const out: Read[] = [];
  for (const r of reqs) {
    const readFrom = await db.readTick(tx);
    const got = await readIds(stripe, r.object, r.ids);
    const readTo = await db.readTick(tx);
    out.push({
      object: r.object,
      read_from: tickJson(readFrom),
      read_to: tickJson(readTo),
      objects: got.objects,
      gone: got.gone,
    });
  }
  return out;
}

/**
 * `call()` until it answers something other than `read_again`; after each `read_again`, read those
 * ids and apply_objects them first (themselves settled the same way). Runs inside `tx`, whose
 * write lock the engine holds from the first `read_again` on.
 */
export async function settle(
  tx: db.Db,
  stripe: Stripe,
  server: string,
  call: () => Promise<db.Answer>,
  depth = 0,
): Promise<db.Answer> {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const answer = await call();
    if (!("read_again" in answer)) return answer;
    if (depth >= MAX_DEPTH) break;
    for (const r of readRequests(answer.read_again, "read_again")) {
      const readFrom = await db.readTick(tx);
      const got = await readIds(stripe, r.object, r.ids);
      const readTo = await db.readTick(tx);
      await settle(
        tx,
        stripe,
        server,
        () => db.applyObjects(tx, server, r.object, readFrom, readTo, got.objects, got.gone),
        depth + 1,
      );
    }
  }
  throw new Error(
    `the engine still asked to read again after ${MAX_ROUNDS} rounds (depth ${depth})`,
  );
}
