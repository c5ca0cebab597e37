// HTTP plumbing shared by the routes: JSON answers, a capped body read, and errors described for a
// log line or an answer from known fields only (never a query's parameters), scrubbed of secrets.

import { scrub, StripeError } from "./errors.ts";

export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", "Cache-Control": "no-store" },
  });
}

export class BodyTooLarge extends Error {
  override name = "BodyTooLarge";
}

/** The request body as text, refusing more than `max` bytes. */
export async function readText(req: Request, max: number): Promise<string> {
  const declared = Number(req.headers.get("content-length") ?? "NaN");
  if (declared > max) throw new BodyTooLarge(`the body is larger than ${max} bytes`);
  if (!req.body) return "";
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLarge(`the body is larger than ${max} bytes`);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all);
}

/** SQLSTATE of a database error, if `e` is one. */
export function sqlState(e: unknown): string | undefined {
  if (e instanceof Error && e.name === "PostgresError") {
    const code = (e as { code?: unknown }).code;
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}

/**
 * What went wrong, from known fields only: postgres.js errors also carry the query and its
 * parameters (a webhook payload, a signing secret), which must never reach a log or an answer.
 */
export function describeError(
  e: unknown,
  secrets: readonly (string | undefined)[],
): Record<string, unknown> {
  const s = (v: unknown) => typeof v === "string" ? scrub(v, secrets) : undefined;
  if (e instanceof StripeError) return e.toJSON();
  if (e instanceof Error && e.name === "PostgresError") {
    const p = e as Error & { code?: string; detail?: string; hint?: string };
    return {
      error: "database",
      sqlstate: p.code,
      message: s(p.message),
      detail: s(p.detail),
      hint: s(p.hint),
    };
  }
  if (e instanceof Error) return { error: e.name, message: s(e.message) };
  return { error: "unknown", message: s(String(e)) };
}

/** One JSON log line on stdout: what a route did (never a payload or a secret). */
export function logInfo(route: string, info: Record<string, unknown>): void {
  console.log(JSON.stringify({ route, ...info }));
}

/** One JSON log line on stderr (the function's logs). */
export function logError(route: string, info: Record<string, unknown>): void {
  console.error(JSON.stringify({ route, ...info }));
}
