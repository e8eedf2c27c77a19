// The inventory system running on Herald, end to end, in one command (`npm run demo`): the
// inventory, order and payment services, their relays and consumers, and a simulator placing
// orders. On the embedded default (PGlite, no server) unless DATABASE_URL and KAFKA_BROKERS are
// set. It ends with a summary that checks its own books.
//   npm run demo -- --duration 20 --rate 20 [--keep-running] [--json]
import { parseArgs } from 'node:util';
import { createLogger } from 'herald';
import { openStack } from './db.ts';
import { audit, type Books, waitUntilSettled } from './demo/books.ts';
import { serveDashboards } from './demo/dashboard.ts';
import { nextOrder, random, setUpCatalog } from './demo/scenario.ts';
import { startSystem } from './demo/system.ts';
import { createView, snapshot } from './demo/view.ts';
import { schemasFor } from './schema.ts';

const usage = `usage: npm run demo -- [options]
  --duration <s>      seconds of new orders (default 20)
  --rate <n>          orders per second (default 15)
  --ttl <s>           seconds a reservation is held before it expires (default 3)
  --seed <n>          the scenario's random seed (default 1)
  --prefix <name>     schema prefix; its schemas are dropped and made again (default herald_demo)
  --port <n>          the inventory HTTP API's port (default 0: any free port)
  --keep-running      keep the services, HTTP API and dashboards up after the summary, until Ctrl-C;
                      the dashboards (one per service) are served from the start, on 127.0.0.1
  --json              end with one JSON line of the summary on stdout (progress goes to stderr)
environment: DATABASE_URL and KAFKA_BROKERS run it on PostgreSQL and Kafka; otherwise embedded (PGlite)`;

function options() {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '20' },
      rate: { type: 'string', default: '15' },
      ttl: { type: 'string', default: '3' },
      seed: { type: 'string', default: '1' },
      prefix: { type: 'string', default: 'herald_demo' },
      port: { type: 'string', default: '0' },
      'keep-running': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const number = (name: 'duration' | 'rate' | 'ttl' | 'seed' | 'port', min: number, max: number) => {
    const v = Number(values[name]);
    if (!(Number.isFinite(v) && v >= min && v <= max)) {
      console.error(`--${name}: ${JSON.stringify(values[name])} must be a number from ${min} to ${max}\n${usage}`);
      process.exit(2);
    }
    return v;
  };
  try {
    schemasFor(values.prefix);
  } catch (error) {
    console.error(`--prefix: ${(error as Error).message}\n${usage}`);
    process.exit(2);
  }
  const port = number('port', 0, 65_535);
  if (!Number.isInteger(port)) {
    console.error(`--port: ${values.port} must be a whole number\n${usage}`);
    process.exit(2);
  }
  return {
    durationS: number('duration', 1, 86_400),
    rate: number('rate', 0.1, 1000),
    ttlS: number('ttl', 1, 3600),
    seed: number('seed', 0, 2 ** 31),
    port,
    prefix: values.prefix,
    keepRunning: values['keep-running'],
    json: values.json,
  };
}

const o = options();
const out = o.json ? process.stderr : process.stdout;
const stack = await openStack(process.env, `${o.prefix}_broker`);
const logger = createLogger({ level: (process.env.HERALD_LOG_LEVEL as 'error' | undefined) ?? 'error' });
const system = await startSystem(stack, {
  prefix: o.prefix,
  runId: Date.now().toString(36),
  reservationTtlMs: o.ttlS * 1000,
  expiryIntervalMs: 250,
  port: o.port,
  logger,
});
const dashboards = o.keepRunning
  ? await serveDashboards(
      { db: stack.db, transport: stack.transport, topic: system.topicOf, logger },
      { orders: system.schemas.orders, inventory: system.schemas.inventory, payments: system.schemas.payments },
    )
  : undefined;
const header = `Herald inventory demo on ${stack.describe}\ninventory API: ${system.apiUrl}${
  dashboards ? `\ndashboard: ${dashboards.url}/orders/dashboard/ (and /inventory/, /payments/)` : ''
}`;
await setUpCatalog(system.apiUrl);
const view = createView(out, system, header);
const startedAt = Date.now();
const show = async (phase: string) => view.render(await snapshot(stack.db, system, startedAt), phase);

// #region scenario
// Orders at the chosen rate for the chosen time; each order's plan decides what its customer does.
const rand = random(o.seed);
let placed = 0;
let lastView = 0;
while (Date.now() - startedAt < o.durationS * 1000) {
  const due = Math.floor(((Date.now() - startedAt) / 1000) * o.rate);
  while (placed < due) await system.orders.place(nextOrder(rand, placed++));
  if (Date.now() - lastView >= 500) {
    lastView = Date.now();
    await show('placing orders');
  }
  await new Promise((r) => setTimeout(r, 20));
}
// #endregion scenario

// No new orders now: wait until every order is settled and every event handled by its groups.
const caughtUp = await waitUntilSettled(stack.db, system, (o.ttlS + 60) * 1000, () => show('settling'));
await show(caughtUp ? 'settled' : 'gave up waiting');
if (!o.keepRunning) await system.stop();
const books: Books = await audit(stack.db, system);

const ok =
  books.lost === 0 &&
  books.appliedTwice === 0 &&
  books.oversold === 0 &&
  books.stockConserved &&
  books.unsettledOrders === 0;
const line = (label: string, value: string) => out.write(`  ${label.padEnd(18)} ${value}\n`);
out.write(`\nSummary (${placed} orders in ${o.durationS}s, seed ${o.seed})\n`);
line('orders', String(books.orders));
const meaning: Record<string, string> = {
  COMPLETED: 'paid and shipped: reserved, charged, confirmed, fulfilled, stock decremented',
  CANCELLED:
    'cancelled by the customer, or compensated: card declined, or gone after a late payment (refunded); stock released',
  EXPIRED: 'never paid: the expiry job released the reservation',
  REJECTED: 'more than any warehouse had: reservation_failed, nothing held',
};
for (const [status, n] of Object.entries(books.ordersByStatus)) {
  out.write(`    ${String(n).padStart(5)} ${status.toLowerCase().padEnd(11)} ${meaning[status] ?? 'not settled'}\n`);
}
line(
  'events',
  `${books.events} written through the outboxes, ${system.relays.reduce((a, r) => a + r.stats().published, 0)} published`,
);
line('lost', `${books.lost} (events some consumer group has not handled)`);
line('applied twice', `${books.appliedTwice} (effects applied more than once for one event)`);
line('oversold', `${books.oversold} (stock rows below zero or reserved beyond what is on hand)`);
line(
  'stock conserved',
  `${books.stockConserved ? 'yes' : 'NO'}: every stock level equals the sum of its movements; shipped equals what completed orders took`,
);
for (const f of books.findings) line('', f);
line('unsettled orders', String(books.unsettledOrders));
out.write(ok ? 'The books balance.\n' : 'The books do NOT balance: see above.\n');
if (o.json) {
  const { orders, events, lost, appliedTwice, oversold, stockConserved, unsettledOrders } = books;
  process.stdout.write(
    `${JSON.stringify({ orders, events, lost, appliedTwice, oversold, stockConserved, unsettledOrders })}\n`,
  );
}

if (o.keepRunning) {
  out.write(`\nStill running: the inventory API is at ${system.apiUrl} (try ${system.apiUrl}/stock). Ctrl-C stops.\n`);
  out.write(`dashboard: ${dashboards?.url}/orders/dashboard/ (and /inventory/, /payments/)\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await dashboards?.close();
  await system.stop();
}
await stack.transport.close();
await stack.db.end();
process.exitCode = ok ? 0 : 1;
