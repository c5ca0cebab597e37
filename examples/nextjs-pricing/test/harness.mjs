// Test harness of the example's browser scenarios: a throwaway PostgreSQL cluster, the fake Stripe
// server, a database set up by db/setup, the built app (.next/standalone), and headless Chromium.
//
// Environment: PG_CONFIG (default /usr/bin/pg_config), FAKE_STRIPE_BIN (scripts/fake-stripe-bin's
// output; scripts/example-test sets it), CHROMIUM (default /usr/bin/chromium).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { chromium } from 'playwright-core';

export const APP_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = join(APP_DIR, '..', '..');
export const RESULTS_DIR = join(APP_DIR, 'test-results');
const PG_CONFIG = process.env.PG_CONFIG || '/usr/bin/pg_config';
const FAKE_API_KEY = 'sk_test_fake_key';

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...options });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}${r.stderr}`);
  }
  return r.stdout;
}

// A child process whose output is kept for error messages, stopped with SIGTERM.
function start(cmd, args, env) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = { child, output: '', exited: false };
  child.stdout.on('data', (d) => (proc.output += d));
  child.stderr.on('data', (d) => (proc.output += d));
  proc.exit = new Promise((resolve) => child.on('exit', (code, signal) => {
    proc.exited = true;
    resolve(code ?? signal);
  }));
  // SIGTERM, then SIGKILL after 3 s: Next's server waits for idle keep-alive connections (the
  // browser's) to close before it exits, which can take minutes.
  proc.stop = async () => {
    if (!proc.exited) child.kill('SIGTERM');
    const timer = setTimeout(() => proc.exited || child.kill('SIGKILL'), 3000);
    await proc.exit;
    clearTimeout(timer);
  };
  return proc;
}

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// scripts/pg-cluster: one cluster for the whole run, a fresh database per scenario.
export function startCluster() {
  const dir = `/tmp/stripe_fdw_example_${process.pid}`;
  const line = run(join(ROOT, 'scripts/pg-cluster'), ['start', dir], { timeout: 120_000, env: { ...process.env, PG_CONFIG } });
  const env = Object.fromEntries([...line.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]));
  return {
    env,
    url: (db) => `postgres://${env.PGUSER}@${env.PGHOST}:${env.PGPORT}/${db}`,
    stop: () => run(join(ROOT, 'scripts/pg-cluster'), ['stop', dir], { env: { ...process.env, PG_CONFIG } }),
  };
}

// The fake Stripe server with the demo catalog: Hobby, Pro, Team, and the archived Legacy plan.
export async function startFake() {
  const bin = process.env.FAKE_STRIPE_BIN;
  if (!bin) throw new Error('FAKE_STRIPE_BIN is not set (scripts/example-test sets it)');
  const proc = start(bin, ['--port', '0', '--catalog', 'demo'], {});
  for (let i = 0; i < 100 && !proc.exited; i++) {
    const m = proc.output.match(/^listening on http:\/\/[^:]+:(\d+)\/?$/m);
    if (m) {
      const base = `http://127.0.0.1:${m[1]}`;
      return {
        base,
        apiUrl: `${base}/v1`,
        stop: proc.stop,
        api: (method, path, params) => stripeApi(base, method, path, params),
        // The events the fake recorded for changes made through its API, newest first.
        events: async (params) => (await stripeApi(base, 'GET', 'events', params)).data,
        deliver: (event, url, secret) => deliverWebhook(base, event, url, secret),
      };
    }
    await sleep(100);
  }
  await proc.stop();
  throw new Error(`the fake Stripe server did not start:\n${proc.output}`);
}

// A request to the fake's Stripe API, form-encoded like Stripe's clients.
async function stripeApi(base, method, path, params = {}) {
  const body = new URLSearchParams(params).toString();
  const url = method === 'GET' && body ? `${base}/v1/${path}?${body}` : `${base}/v1/${path}`;
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${FAKE_API_KEY}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: method === 'GET' ? undefined : body,
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} /v1/${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

// The fake signs the event with `secret` and POSTs it to `url` as Stripe does (control
// POST /__webhooks/deliver); returns the HTTP status `url` answered.
async function deliverWebhook(base, event, url, secret) {
  const res = await fetch(`${base}/__webhooks/deliver`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ event, url, secret }),
  });
  const json = await res.json();
  if (!res.ok || json.status === 0) throw new Error(`webhook delivery of ${event}: ${JSON.stringify(json)}`);
  return json.status;
}

// A fresh database set up by db/setup against the fake: the starter's tables, filled by sync().
export async function createDatabase(cluster, fake, name, webhookSecret) {
  const admin = postgres(cluster.url('postgres'), { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  run(join(APP_DIR, 'db/setup'), [], {
    timeout: 120_000,
    env: {
      ...process.env,
      PG_CONFIG,
      DATABASE_URL: cluster.url(name),
      EXAMPLE_API_URL: fake.apiUrl,
      EXAMPLE_API_KEY: FAKE_API_KEY,
      EXAMPLE_WEBHOOK_SECRET: webhookSecret,
    },
  });
  return { url: cluster.url(name), sql: postgres(cluster.url(name), { max: 2, onnotice: () => {} }) };
}

// The built app (npm run build), as `make example` runs it.
export async function startApp(databaseUrl) {
  const port = await freePort();
  const proc = start('node', [join(APP_DIR, '.next/standalone/server.js')], {
    DATABASE_URL: databaseUrl,
    PORT: String(port),
    HOSTNAME: '127.0.0.1',
    NEXT_TELEMETRY_DISABLED: '1',
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300 && !proc.exited; i++) {
    try {
      await fetch(`${base}/api/webhooks`); // any answer: the server is up (GET is 405)
      return { base, stop: proc.stop, log: () => proc.output };
    } catch {
      await sleep(100);
    }
  }
  await proc.stop();
  throw new Error(`the app did not start:\n${proc.output}`);
}

// Debian's Chromium, headless, with a fresh profile; never a downloaded browser.
export async function launchBrowser() {
  const profile = mkdtempSync(join(tmpdir(), 'stripe_fdw_example_chromium.'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  return {
    page: context.pages()[0] ?? (await context.newPage()),
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

// Load a page and read its plans as the visitor sees them: [{ name, prices: ['$9/month', ...] }].
export async function readPlans(page, url, screenshot) {
  const res = await page.goto(url, { waitUntil: 'load' });
  if (!res || res.status() !== 200) throw new Error(`${url}: HTTP ${res?.status()}`);
  const plans = await page.locator('[data-testid=plan]').evaluateAll((cards) =>
    cards.map((card) => ({
      name: card.querySelector('h2')?.textContent ?? '',
      prices: [...card.querySelectorAll('[data-testid=price]')].map((p) => p.textContent ?? ''),
    })),
  );
  if (screenshot) {
    mkdirSync(RESULTS_DIR, { recursive: true });
    await page.screenshot({ path: join(RESULTS_DIR, `${screenshot}.png`), fullPage: true });
  }
  return plans;
}

export function randomWebhookSecret() {
  return `whsec_${randomBytes(24).toString('hex')}`;
}
