import { z } from 'zod';
import { createConsumer, createOutbox, createRelay, defineEvent, type Logger, silentLogger } from '../../src/index.ts';
import type { DatabaseOption } from '../../src/store/connect.ts';
import type { Transport } from '../../src/transports/transport.ts';
import { uniqueName } from '../support/env.ts';
import { waitFor } from '../support/relay-process.ts';

interface Client {
  query(sql: string, params?: unknown[]): Promise<unknown>;
  release(): void;
}
interface Pool {
  connect(): Promise<Client>;
}

/**
 * The whole path once: `count` events written through the outbox in one transaction on `pool`,
 * published by a relay, handled by a consumer through the inbox (each on `db`, on transports made
 * by `transport`). Resolves with what the relay published and the payloads the consumer handled.
 */
export async function roundTrip(o: {
  pool: Pool;
  db?: DatabaseOption;
  schema: string;
  transport: () => Transport;
  count?: number;
  logger?: Logger;
}): Promise<{ published: number; handled: number[] }> {
  const count = o.count ?? 3;
  const Def = defineEvent({
    type: `security.${uniqueName('rt').replace('_', '.')}`,
    version: 1,
    schema: z.object({ n: z.number().int() }),
    key: (p) => String(p.n % 2),
  });
  const logger = o.logger ?? silentLogger;
  const client = await o.pool.connect();
  try {
    await client.query('BEGIN');
    const outbox = createOutbox({ schema: o.schema, source: '/security' });
    await outbox.add(
      client as never,
      Array.from({ length: count }, (_, n) => Def({ n })),
    );
    await client.query('COMMIT');
  } finally {
    client.release();
  }
  const db = o.db ?? (o.pool as unknown as DatabaseOption);
  const relay = createRelay({ db, schema: o.schema, transport: o.transport(), logger });
  const { published } = await relay.drain();
  const handled: number[] = [];
  const consumer = createConsumer({ transport: o.transport(), group: uniqueName('sec'), db, schema: o.schema, logger });
  consumer.on(Def, async (event) => {
    handled.push(event.payload.n);
  });
  await consumer.start();
  try {
    await waitFor(`${count} events handled`, () => handled.length >= count, 60_000);
  } finally {
    await consumer.stop();
  }
  return { published, handled: handled.sort((a, b) => a - b) };
}
