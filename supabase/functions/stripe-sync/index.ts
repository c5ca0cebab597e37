// The stripe-sync Edge Function's entry point: Deno.serve with the router (router.ts).
// STRIPE_SYNC_PORT (local runs and tests only) serves on 127.0.0.1 at that port (0: any free one)
// and prints the function's base URL once listening.

import { handle } from "./router.ts";

const port = Deno.env.get("STRIPE_SYNC_PORT");
if (port === undefined) {
  Deno.serve(handle);
} else {
  Deno.serve({
    hostname: "127.0.0.1",
    port: Number(port),
    onListen: ({ hostname, port }) => {
      console.log(`listening on http://${hostname}:${port}/stripe-sync`);
    },
  }, handle);
}
