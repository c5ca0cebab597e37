// The bearer check of /worker and /setup: the presented secret and the configured one are each
// HMAC-SHA256'd under a fresh random key and the digests compared, so the comparison's time says
// nothing about the secret.

const encoder = new TextEncoder();

/** The token of an `Authorization: Bearer <token>` header ("" when there is none). */
export function bearerToken(header: string | null): string {
  if (header === null) return "";
  const m = /^\s*Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : "";
}

/** Does `header` carry `Bearer <secret>`? False whenever `secret` is empty or unset. */
export async function bearerMatches(
  header: string | null,
  secret: string | undefined,
): Promise<boolean> {
  if (!secret) return false;
  const key = await crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = async (s: string) =>
    new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(s)));
  const [a, b] = await Promise.all([mac(bearerToken(header)), mac(secret)]);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
