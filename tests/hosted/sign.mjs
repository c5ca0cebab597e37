// Stripe-Signature headers made by stripe-node, the reference the SQL verifier is tested against
// (tests/e2e/tests/webhook_sig.rs). Reads a JSON array of cases on stdin, each
// {"payload": "...", "secret": "whsec_...", "timestamp": <unix seconds>[, "scheme": "v1"]}, and prints
// a JSON array of the headers stripe.webhooks.generateTestHeaderString made, in the same order.
//
//   echo '[{"payload":"{}","secret":"whsec_x","timestamp":1700000000}]' | node tests/hosted/sign.mjs
//
// Needs `npm ci` (or `npm install`) in tests/hosted. Makes no request: the key is never used.
import Stripe from 'stripe';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const cases = JSON.parse(Buffer.concat(chunks).toString('utf8'));
if (!Array.isArray(cases)) throw new Error('sign.mjs: stdin must be a JSON array of cases');

const stripe = new Stripe('sk_test_unused');
const headers = cases.map(({ payload, secret, timestamp, scheme }) =>
  stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp, scheme }),
);
process.stdout.write(JSON.stringify(headers) + '\n');
