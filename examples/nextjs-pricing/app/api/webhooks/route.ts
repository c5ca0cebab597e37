// Stripe's webhook endpoint: the raw body and the Stripe-Signature header go unchanged to
// stripe_fdw.handle_webhook, which verifies the signature, re-reads the object from Stripe and
// updates the synced tables. 200 when it returns; 400 for a delivery that can never be applied (a
// bad signature, 28000, or a body that is no Stripe event, 22023); 500 otherwise, so Stripe retries.
import { db } from '@/lib/db';

export async function POST(request: Request): Promise<Response> {
  // The exact bytes Stripe signed: never parse and re-serialise before verifying.
  const payload = await request.text();
  const signature = request.headers.get('stripe-signature') ?? '';
  try {
    const [row] = await db()`select stripe_fdw.handle_webhook(${payload}, ${signature}) as result`;
    return Response.json(row.result);
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    if (code === '28000' || code === '22023') {
      return Response.json({ error: message }, { status: 400 });
    }
    // Anything else (Stripe unreachable, a constraint of the app) is worth a retry: Stripe retries
    // a 5xx with backoff for up to three days.
    console.error('webhook failed:', code, message);
    return Response.json({ error: 'webhook could not be applied' }, { status: 500 });
  }
}
