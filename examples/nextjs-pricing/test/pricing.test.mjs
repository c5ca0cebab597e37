// The pricing page in headless Chromium through the stories stripe_fdw exists for: the first deploy,
// a price change delivered by webhook, changes made while the app was down, and /live.
// Run by scripts/example-test (make example-test), which builds the app and the fake first.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  createDatabase, launchBrowser, randomWebhookSecret, readPlans, startApp, startCluster, startFake,
} from './harness.mjs';

// The fake's demo catalog as the page shows it: active products by metadata.index, their active
// prices by unit_amount (the archived Legacy plan is not shown).
const DEMO = [
  { name: 'Hobby', prices: ['$9/month', '$90/year'] },
  { name: 'Pro', prices: ['€27/month', '$29/month', '$290/year'] },
  { name: 'Team', prices: ['$99/month', '$499 one-time', '$990/year'] },
];

let cluster;
let browser;
let databases = 0;
// A scenario takes seconds; a hang fails it instead of holding CI.
const TIMEOUT = { timeout: 180_000 };
let setupDiagnostic;

before(async () => {
  let mark = Date.now();
  cluster = startCluster();
  const clusterMs = Date.now() - mark;
  mark = Date.now();
  browser = await launchBrowser();
  // Reported with the first test's diagnostics.
  setupDiagnostic = `cluster start: ${clusterMs} ms, Chromium launch: ${Date.now() - mark} ms`;
});

after(async () => {
  await browser?.close();
  cluster?.stop();
});

// One scenario's world: the fake with the demo catalog, a fresh database set up by db/setup
// (create_sync + sync), and the app on it. Everything is stopped afterwards, also on failure.
// Where the time went is reported as the test's diagnostics.
async function withWorld(t, fn) {
  if (setupDiagnostic) {
    t.diagnostic(setupDiagnostic);
    setupDiagnostic = undefined;
  }
  const secret = randomWebhookSecret();
  let mark = Date.now();
  const lap = (what) => {
    t.diagnostic(`${what}: ${Date.now() - mark} ms`);
    mark = Date.now();
  };
  const fake = await startFake();
  const stops = [fake.stop];
  try {
    const db = await createDatabase(cluster, fake, `example_${++databases}`, secret);
    stops.push(() => db.sql.end());
    lap('fake Stripe and database (db/setup: create_sync, sync)');
    const world = { fake, db, secret, page: browser.page };
    world.startApp = async () => {
      mark = Date.now();
      world.app = await startApp(db.url);
      stops.push(world.app.stop);
      lap('app start');
      return world.app;
    };
    await world.startApp();
    await fn(world);
    lap('scenario');
  } finally {
    for (const stop of stops.reverse()) await stop();
  }
}

async function productId(fake, name) {
  const { data } = await fake.api('GET', 'products', { limit: '100' });
  const product = data.find((p) => p.name === name);
  assert.ok(product, `the fake has a product named ${name}`);
  return product.id;
}

test('first deploy: the page shows every active plan on the first load, with no webhook', TIMEOUT, async (t) => {
  await withWorld(t, async ({ app, page }) => {
    assert.deepEqual(await readPlans(page, `${app.base}/`, 'first-deploy'), DEMO);
  });
});

test('a price change: the signed webhook updates the page; a wrong signature is refused', TIMEOUT, async (t) => {
  await withWorld(t, async ({ fake, app, page, secret }) => {
    assert.deepEqual(await readPlans(page, `${app.base}/`), DEMO);

    // Stripe prices are immutable: the plan gets a new $39 monthly price and the $29 one is archived.
    const [old] = (await fake.api('GET', 'prices', { 'lookup_keys[]': 'pro_monthly' })).data;
    await fake.api('POST', 'prices', {
      product: old.product, currency: 'usd', unit_amount: '3900', 'recurring[interval]': 'month',
    });
    await fake.api('POST', `prices/${old.id}`, { active: 'false' });
    const events = (await fake.events({ limit: '100' })).reverse();
    assert.deepEqual(events.map((e) => e.type), ['price.created', 'price.updated']);

    const hook = `${app.base}/api/webhooks`;
    assert.equal(await fake.deliver(events[0].id, hook, 'whsec_wrong_secret'), 400, 'a wrong signature is refused');
    assert.deepEqual(await readPlans(page, `${app.base}/`), DEMO, 'a refused delivery writes nothing');

    for (const event of events) {
      assert.equal(await fake.deliver(event.id, hook, secret), 200, `${event.type} is accepted`);
    }
    assert.deepEqual(await readPlans(page, `${app.base}/`, 'price-change'), [
      DEMO[0],
      { name: 'Pro', prices: ['€27/month', '$39/month', '$290/year'] },
      DEMO[2],
    ]);
  });
});

test('downtime: changes made while the app was down show after restart and one catch_up()', TIMEOUT, async (t) => {
  await withWorld(t, async (world) => {
    const { fake, db, page } = world;
    assert.deepEqual(await readPlans(page, `${world.app.base}/`), DEMO);
    await world.app.stop();

    // While the app is down (no webhook reaches anything): a rename, an archive, a new plan.
    await fake.api('POST', `products/${await productId(fake, 'Hobby')}`, { name: 'Starter' });
    await fake.api('POST', `products/${await productId(fake, 'Team')}`, { active: 'false' });
    const enterprise = await fake.api('POST', 'products', {
      name: 'Enterprise', description: 'For large organisations', 'metadata[index]': '3',
    });
    await fake.api('POST', 'prices', {
      product: enterprise.id, currency: 'usd', unit_amount: '19900', 'recurring[interval]': 'month',
    });

    const app = await world.startApp();
    assert.deepEqual(await readPlans(page, `${app.base}/`), DEMO, 'nothing changed the tables yet');
    await db.sql`call stripe_fdw.catch_up()`;
    assert.deepEqual(await readPlans(page, `${app.base}/`, 'downtime'), [
      { name: 'Starter', prices: DEMO[0].prices },
      DEMO[1],
      { name: 'Enterprise', prices: ['$199/month'] },
    ]);
  });
});

test('live: /live shows a change as soon as the fake has it', TIMEOUT, async (t) => {
  await withWorld(t, async ({ fake, app, page }) => {
    assert.deepEqual(await readPlans(page, `${app.base}/live`), DEMO);

    await fake.api('POST', `products/${await productId(fake, 'Pro')}`, { name: 'Professional' });
    await fake.api('POST', 'prices', {
      product: await productId(fake, 'Hobby'), currency: 'usd', unit_amount: '300', 'recurring[interval]': 'week',
    });

    const changed = [
      { name: 'Hobby', prices: ['$3/week', ...DEMO[0].prices] },
      { name: 'Professional', prices: DEMO[1].prices },
      DEMO[2],
    ];
    assert.deepEqual(await readPlans(page, `${app.base}/live`, 'live'), changed);
    // The synced tables wait for a webhook, catch_up() or the schedule.
    assert.deepEqual(await readPlans(page, `${app.base}/`), DEMO);
  });
});
