// Reads of Stripe objects as the engine asks for them: some ids of an object (one retrieve per id,
// products by `ids[]` in batches of 100), or one page of a full list. Mirrors core/src/plan.rs.

import { objectSpec, pathSafeId, possibleId } from "./objects.ts";
import type { JsonObject, ListPage, Params, Stripe } from "./stripe.ts";

/** What a read of some ids found: the objects Stripe holds, and the ids it has not (deleted). */
export interface IdsRead {
  objects: JsonObject[];
  gone: string[];
}

/** Retrieves run at most this many at once (the extension's default max_concurrency). */
const CONCURRENCY = 4;

/** Read `ids` of `object` as Stripe holds them now. */
export async function readIds(
  stripe: Stripe,
  object: string,
  ids: readonly string[],
): Promise<IdsRead> {
  const spec = objectSpec(object);
  const wanted = [...new Set(ids)];
  // An id Stripe could not hold is gone without asking.
  const gone = wanted.filter((id) => !possibleId(id));
  const possible = wanted.filter(possibleId);
  const objects: JsonObject[] = [];
  const batch = spec.idsParam;
  if (batch && !(possible.length === 1 && pathSafeId(possible[0]))) {
    for (let i = 0; i < possible.length; i += batch.max) {
      const chunk = possible.slice(i, i + batch.max);
      const params: Params = chunk.map((id) => [batch.param, id]);
      params.push(["limit", String(batch.max)]);
      const page = await stripe.listPage(spec.endpoint, params);
      if (page.has_more) {
        throw new Error(
          `Stripe said has_more for a request that takes no cursor (${batch.param} batch of ${chunk.length})`,
        );
      }
      const found = new Map<string, JsonObject>();
      for (const o of page.data) if (typeof o.id === "string") found.set(o.id, o);
      for (const id of chunk) {
        const o = found.get(id);
        if (o) objects.push(o);
        else gone.push(id);
      }
    }
    return { objects, gone };
  }
  // Stripe generates these ids: one that is no safe path segment matches nothing.
  gone.push(...possible.filter((id) => !pathSafeId(id)));
  const safe = possible.filter(pathSafeId);
  const got = await pool(safe, CONCURRENCY, (id) => stripe.retrieve(spec.endpoint, id));
  safe.forEach((id, i) => {
    const o = got[i];
    if (o) objects.push(o);
    else gone.push(id);
  });
  return { objects, gone };
}

/** One page of the full list of `object`, after `startingAfter` (null: the first page). */
export async function listPage(
  stripe: Stripe,
  object: string,
  startingAfter: string | null,
): Promise<ListPage> {
  const spec = objectSpec(object);
  const params: Params = [...spec.listParams, ["limit", "100"]];
  if (startingAfter !== null) params.push(["starting_after", startingAfter]);
  return await stripe.listPage(spec.endpoint, params);
}

/** `work` on every item, at most `n` at once; results in the items' order. The first error wins. */
async function pool<T, R>(
  items: readonly T[],
  n: number,
  work: (t: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const run = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        out[i] = await work(items[i]);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, run));
  return out;
}
