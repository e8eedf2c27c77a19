// Herald's admin API and dashboard inside your own HTTP server, beside your routes and the health
// endpoints. Tokens come from HERALD_ADMIN_TOKEN and HERALD_READ_TOKEN.
//   DATABASE_URL=postgres://... KAFKA_BROKERS=127.0.0.1:9092 HERALD_ADMIN_TOKEN=... node examples/dashboard.ts [--keep-running]
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdminHandler, createRelay, migrate } from 'herald';
import { kafka } from 'herald/kafka';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' });
const schema = 'herald_examples_dashboard';
await migrate(pool, { schema });
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const relay = createRelay({ db: pool, schema, transport: kafka({ brokers }) });
const transport = kafka({ brokers });

// #region mount
const admin = createAdminHandler({
  db: pool,
  schema,
  // What retries and replays publish with; without it the dashboard looks, discards and dry-runs.
  transport,
  // What /ops/readyz asks; /ops/healthz and /ops/metrics are served too.
  checks: [relay],
  basePath: '/ops',
});
const server = createServer((req, res) =>
  admin(req, res, () => {
    // Anything not under /ops is your service's own.
    res.end('my service\n');
  }),
);
// #endregion mount

await relay.start();
await new Promise<void>((resolve) => server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ops`;
const status = await fetch(`${base}/api/status`, {
  headers: { authorization: `Bearer ${process.env.HERALD_READ_TOKEN ?? process.env.HERALD_ADMIN_TOKEN}` },
});
const body = (await status.json()) as { healthy: boolean; backlog: { events: number } };
console.log(`status ${status.status}: healthy ${body.healthy}, ${body.backlog.events} events pending`);
console.log(`dashboard: ${base}/dashboard/`);

if (process.argv.includes('--keep-running')) {
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}
server.closeAllConnections();
server.close();
await admin.close();
await relay.stop();
await transport.close();
await pool.end();
