// Test helper: the fake Stripe (tests/fake_stripe) as the tests use it: started from
// FAKE_STRIPE_BIN (or scripts/fake-stripe-bin, which builds it), or one already running at
// FAKE_STRIPE_URL; its control API (/__reset, /__faults, /__log). Not part of the function.

export const FAKE_KEY = "sk_test_fake_key";

export interface LogEntry {
  method: string;
  path: string;
  query: [string, string][];
  form?: [string, string][];
  status: number;
  fault?: string;
  headers?: [string, string][];
}

export interface FaultRule {
  kind: "status" | "drop" | "malformed" | "truncated" | "hang" | "oversize" | "echo_key";
  status?: number;
  should_retry?: boolean;
  retry_after?: number;
  after?: number;
  count?: number | null;
  path_prefix?: string;
  method?: string;
  size_bytes?: number;
}

export class Fake {
  constructor(
    readonly url: string,
    private child?: Deno.ChildProcess,
    private drained?: Promise<void>,
  ) {}

  async #control(method: string, path: string, body?: unknown): Promise<unknown> {
    const r = await fetch(this.url + path, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`fake ${method} ${path}: ${r.status} ${text}`);
    return JSON.parse(text);
  }

  /** Back to a catalog (`{}`: the one it started with), with an empty log and no faults. */
  async reset(body: Record<string, unknown> = {}): Promise<void> {
    await this.#control("POST", "/__reset", body);
  }

  async faults(rules: FaultRule[], latency_ms = 0): Promise<void> {
    await this.#control("POST", "/__faults", { latency_ms, rules });
  }

  async log(): Promise<LogEntry[]> {
    return await this.#control("GET", "/__log") as LogEntry[];
  }

  async clearLog(): Promise<void> {
    await this.#control("DELETE", "/__log");
  }

  /** A Stripe API call made directly (to set up state), with the fake's key. */
  async api(
    method: string,
    path: string,
    form?: [string, string][],
  ): Promise<Record<string, unknown>> {
    const r = await fetch(`${this.url}/v1/${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${FAKE_KEY}`,
        ...(form ? { "Content-Type": "application/x-www-form-urlencoded" } : {}),
      },
      body: form ? new URLSearchParams(form).toString() : undefined,
    });
    const v = await r.json();
    if (!r.ok) throw new Error(`fake ${method} ${path}: ${r.status} ${JSON.stringify(v)}`);
    return v;
  }

  async stop(): Promise<void> {
    if (!this.child) return;
    this.child.kill("SIGTERM");
    await this.child.status;
    await this.drained;
  }
}

async function binary(): Promise<string> {
  const bin = Deno.env.get("FAKE_STRIPE_BIN");
  if (bin) return bin;
  const root = new URL("../../../", import.meta.url).pathname;
  const out = await new Deno.Command(`${root}scripts/fake-stripe-bin`, { stderr: "inherit" })
    .output();
  if (!out.success) throw new Error("scripts/fake-stripe-bin failed");
  return new TextDecoder().decode(out.stdout).trim();
}

/** A fake Stripe with the demo catalog: the one at FAKE_STRIPE_URL, or a new process. */
export async function startFake(): Promise<Fake> {
  const running = Deno.env.get("FAKE_STRIPE_URL");
  if (running) return new Fake(running.replace(/\/+$/, ""));
  const child = new Deno.Command(await binary(), {
    args: ["--port", "0", "--catalog", "demo"],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("\n")) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`the fake Stripe exited before listening: ${seen}`);
    seen += value;
  }
  const m = /listening on (http:\/\/\S+)/.exec(seen);
  if (!m) throw new Error(`unexpected first line from the fake Stripe: ${seen}`);
  // Keep draining stdout so the child never blocks on a full pipe.
  const drained = (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })();
  return new Fake(m[1], child, drained);
}
