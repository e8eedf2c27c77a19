// `npm run dashboard:screenshots`: the screenshots docs/dashboard.md shows, taken with the real
// browser (Debian's chromium through playwright-core) of a dashboard with live data: a relay
// publishing bursts of events for half a minute, a consumer group's lag rising and falling, dead
// letters of the relay and of a group, a replay run from the UI.
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { createOutbox } from '../src/index.ts';
import { recordLag } from '../src/store/sql/consumer-lag.ts';
import { chromiumArgs, findChromium } from '../test/admin/browser.ts';
import { adminFixture, adminToken, call, Shipped } from '../test/admin/fixture.ts';
import { inTransaction, uniqueName } from '../test/support/env.ts';

const found = findChromium();
if (found.path === null) {
  console.error(found.reason);
  process.exit(1);
}
const docs = new URL('../docs/', import.meta.url).pathname;
const f = await adminFixture();
try {
  const outbox = createOutbox({ schema: f.db.schema });
  // 30 s of traffic, sampled by the overview's history every 2 s.
  for (let tick = 0; tick < 15; tick++) {
    const burst = Math.round(40 + 35 * Math.sin(tick / 2.5));
    const events = Array.from({ length: burst }, (_, i) => Shipped({ n: 100 + tick * 100 + i }));
    await inTransaction(f.db.pool, (tx) => outbox.add(tx, events));
    await recordLag(f.db.pool, f.db.schema, 'billing', [
      {
        topic: f.topic,
        partition: 0,
        committed: String(tick * 50),
        end: String(tick * 50 + burst * 2),
        lag: burst * 2,
      },
    ]);
    await recordLag(f.db.pool, f.db.schema, 'emails', [
      { topic: f.topic, partition: 0, committed: String(tick * 60), end: String(tick * 60 + 3), lag: 3 },
    ]);
    await call(f.base, 'GET', '/api/status');
    await new Promise((r) => setTimeout(r, 2_000));
  }
  const browser = await chromium.launch({ executablePath: found.path, args: chromiumArgs });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${f.base}/dashboard/`);
    await page.fill('#token', adminToken);
    await page.click('#login button[type=submit]');
    await page.locator('[data-testid=chart-throughput] polyline').first().waitFor({ state: 'attached' });
    await page.screenshot({ path: join(docs, 'dashboard-overview.png'), fullPage: true });
    await page.click('a[href="#relays"]');
    await page.locator('[data-testid=shards] .shard').nth(63).waitFor();
    await page.screenshot({ path: join(docs, 'dashboard-relays.png'), fullPage: true });
    await page.click('a[href="#dead-letters"]');
    await page.locator('[data-testid=dead-letter-groups] tbody tr').first().waitFor();
    await page.screenshot({ path: join(docs, 'dashboard-dead-letters.png'), fullPage: true });
    await page.click('a[href="#replay"]');
    await page.fill('[data-testid=replay-form] input[name=types]', 'admin.shipped');
    await page.fill('[data-testid=replay-form] input[name=destination]', uniqueName('herald-shots-replay'));
    await page.click('[data-testid=replay-form] button[type=submit]');
    await page.locator('[data-testid=replays] [data-state=completed]').waitFor();
    await page.screenshot({ path: join(docs, 'dashboard-replay.png'), fullPage: true });
    await page.click('a[href="#events"]');
    await page.fill('input[name=key]', 'order-2');
    await page.click('form.inline button[type=submit]');
    await page.locator('[data-testid=event-results] tbody a').first().click();
    await page.locator('[data-testid=event-payload]').waitFor();
    await page.screenshot({ path: join(docs, 'dashboard-events.png'), fullPage: true });
    console.log(`wrote docs/dashboard-{overview,relays,dead-letters,replay,events}.png`);
  } finally {
    await browser.close();
  }
} finally {
  await f.close();
}
