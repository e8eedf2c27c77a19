// `npm run bench -- write --clients all`: what outbox.add costs the business transaction in each
// database client Herald takes. Per client, `writers` concurrent writers commit transactions of
// that client (its own transaction call) that insert one business row of `payloadBytes` through
// the client's own API, alone (plain) or with outbox.add of one event. Plain runs before and after
// the outbox round; overheadPct is against their median. The clients are the conformance suite's
// (test/clients/harness.ts), so the bench measures exactly what the suite checks.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { z } from 'zod';
import { createOutbox, defineEvent, migrate } from '../src/index.ts';
import { quoteIdent } from '../src/store/identifiers.ts';
import {
  type ClientFixture,
  drizzleNodePostgres,
  drizzlePostgresJs,
  effectsTable,
  knex,
  kysely,
  mikroOrm,
  nodePostgres,
  type OpenClient,
  postgresJs,
  prisma,
  sequelize,
  typeorm,
} from '../test/clients/harness.ts';
import { round } from './stats.ts';
import { uniqueName } from './topic.ts';

export const clientBenchNames = {
  'node-postgres': nodePostgres,
  'postgres.js': postgresJs,
  kysely,
  'drizzle-node-postgres': drizzleNodePostgres,
  'drizzle-postgres-js': drizzlePostgresJs,
  knex,
  prisma,
  typeorm,
  'mikro-orm': mikroOrm,
  sequelize,
} satisfies Record<string, ClientFixture>;
export type ClientBenchName = keyof typeof clientBenchNames;

export interface WriteClientsOptions {
  clients: readonly ClientBenchName[];
  writers: number;
  payloadBytes: number;
  seconds: number;
  json: boolean;
}

export interface WriteClientResult {
  client: ClientBenchName;
  plainTxPerSec: number;
  withOutboxTxPerSec: number;
  overheadPct: number;
}

const Placed = defineEvent({
  type: 'bench.order.placed',
  version: 1,
  destination: 'bench-write',
  schema: z.object({ orderId: z.string(), body: z.string() }),
  key: (p) => p.orderId,
});

/** Writers commit in a loop for `seconds`; returns transactions a second. */
async function measure(
  client: OpenClient,
  options: WriteClientsOptions,
  extra: ((tx: unknown, body: string) => Promise<unknown>) | null,
): Promise<number> {
  const body = 'x'.repeat(options.payloadBytes);
  let committed = 0;
  const started = performance.now();
  const until = started + options.seconds * 1000;
  await Promise.all(
    Array.from({ length: options.writers }, async () => {
      while (performance.now() < until) {
        await client.transaction(async (tx) => {
          await client.insertEffect(tx, randomUUID(), body);
          if (extra) await extra(tx, body);
        });
        committed++;
      }
    }),
  );
  return committed / ((performance.now() - started) / 1000);
}

export async function writeClientsBench(
  options: WriteClientsOptions,
  databaseUrl: string,
): Promise<WriteClientResult[]> {
  const admin = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  admin.on('error', () => {});
  const results: WriteClientResult[] = [];
  try {
    for (const name of options.clients) {
      const schema = uniqueName('herald_bench_clients');
      await migrate(admin, { schema });
      await admin.query(effectsTable(schema));
      const client = await clientBenchNames[name].open(schema, options.writers);
      const outbox = createOutbox({ schema, source: '/herald-bench' });
      const add = (tx: unknown, body: string) => outbox.add(tx as never, Placed({ orderId: randomUUID(), body }));
      try {
        // Warm-up: connections open, statements prepared.
        await measure(client, { ...options, seconds: Math.min(1, options.seconds) }, add);
        const before = await measure(client, options, null);
        const withOutbox = await measure(client, options, add);
        const after = await measure(client, options, null);
        const plain = (before + after) / 2;
        const result: WriteClientResult = {
          client: name,
          plainTxPerSec: Math.round(plain),
          withOutboxTxPerSec: Math.round(withOutbox),
          overheadPct: round((1 - withOutbox / plain) * 100),
        };
        results.push(result);
        const settings = { writers: options.writers, payloadBytes: options.payloadBytes, seconds: options.seconds };
        if (options.json) process.stdout.write(`${JSON.stringify({ ...result, ...settings })}\n`);
        else
          process.stdout.write(
            `${name.padEnd(22)} plain ${result.plainTxPerSec} tx/s (before ${Math.round(before)}, after ${Math.round(after)}), with outbox.add ${result.withOutboxTxPerSec} tx/s, overhead ${result.overheadPct} %\n`,
          );
      } finally {
        await client.close();
        await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`).catch(() => {});
      }
    }
    return results;
  } finally {
    await admin.end();
  }
}
