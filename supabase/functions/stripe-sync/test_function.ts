// Test helper: the function served by tests/hosted/run-function as a process of its own, with the
// settings given, and what it wrote on stderr (its logs). Not part of the function.

export interface Served {
  /** Base URL: + /webhook, /worker, /setup. */
  url: string;
  /** Stop it; what it wrote on stdout and stderr (the function's log lines). */
  stop(): Promise<string>;
}

export async function serveFunction(env: Record<string, string>): Promise<Served> {
  const script = new URL("../../../tests/hosted/run-function", import.meta.url).pathname;
  const child = new Deno.Command(script, {
    args: ["--port", "0"],
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("\n")) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`run-function exited before listening: ${seen} ${await stderr}`);
    seen += value;
  }
  const m = /^listening on (http:\/\/\S+)/.exec(seen);
  if (!m) throw new Error(`unexpected first line from run-function: ${seen}`);
  const drained = (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      seen += value;
    }
  })();
  return {
    url: m[1],
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await drained;
      return seen + (await stderr);
    },
  };
}
