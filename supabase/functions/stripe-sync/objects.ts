// The one map from the engine's object names (the contract's `object`: the foreign table's name) to
// how Stripe serves them: endpoint, the list's fixed parameters, and how ids are fetched
// (core/src/objects/*.rs: `endpoint`, `defaults`, `ids`).

export interface ObjectSpec {
  /** Path below /v1; its `/` separate path segments (`checkout/sessions`). */
  endpoint: string;
  /** Parameters every full list sends (subscriptions: `status=all`, else Stripe hides canceled ones). */
  listParams: [string, string][];
  /** The list takes `ids[]` (no cursor with it): several ids in one request, at most `max`. */
  idsParam?: { param: string; max: number };
}

const OBJECTS: Readonly<Record<string, ObjectSpec>> = {
  products: { endpoint: "products", listParams: [], idsParam: { param: "ids[]", max: 100 } },
  prices: { endpoint: "prices", listParams: [] },
  customers: { endpoint: "customers", listParams: [] },
  subscriptions: { endpoint: "subscriptions", listParams: [["status", "all"]] },
  "checkout/sessions": { endpoint: "checkout/sessions", listParams: [] },
};

export class UnknownObjectError extends Error {
  override name = "UnknownObjectError";
}

/** The spec of `object`; an object this function does not know is an error, never a guessed URL. */
export function objectSpec(object: string): ObjectSpec {
  if (!Object.hasOwn(OBJECTS, object)) {
    throw new UnknownObjectError(
      `the engine asked for object "${object}", which this function does not read ` +
        `(it reads ${Object.keys(OBJECTS).join(", ")})`,
    );
  }
  return OBJECTS[object];
}

/** Longest id Stripe accepts (`maxLength: 5000` on every id). */
const MAX_ID_LEN = 5000;

/** Could Stripe hold an object with this id at all? (core/src/plan_ids.rs `possible_id`) */
export function possibleId(id: string): boolean {
  return id.length > 0 && id.length <= MAX_ID_LEN;
}

/**
 * May this id become a path segment as it is? Letters, digits, `_`, `-`, `.` (but not `.` or `..`).
 * Ids Stripe generates always qualify (core/src/plan_ids.rs `path_safe_id`).
 */
export function pathSafeId(id: string): boolean {
  return possibleId(id) && id !== "." && id !== ".." && /^[A-Za-z0-9_.-]+$/.test(id);
}
