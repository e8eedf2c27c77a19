import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import type pg from 'pg';
import { uuidv7 } from '../../src/index.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import type { OutgoingMessage, Transport } from '../../src/transports/transport.ts';
import { toBinaryHeaders } from '../../src/wire/cloudevents.ts';
import { brokers, freshSchema, type TestSchema } from './env.ts';

/** A message as Herald's relay would publish it, built directly (to deliver it several times). */
export function eventMessage(
  topic: string,
  type: string,
  payload: unknown,
  options: { id?: string; key?: string; version?: number; correlationId?: string; traceparent?: string } = {},
): OutgoingMessage {
  const id = options.id ?? uuidv7();
  const key = options.key ?? 'k';
  return {
    id,
    topic,
    key,
    value: Buffer.from(JSON.stringify(payload)),
    headers: toBinaryHeaders(
      {
        id,
        type,
        source: '/test',
        time: new Date(),
        subject: null,
        dataversion: options.version ?? 1,
        partitionkey: key,
        correlationid: options.correlationId ?? null,
        causationid: null,
        userid: null,
        sessionid: null,
        tags: null,
        traceparent: options.traceparent ?? null,
        tracestate: null,
      },
      {},
    ),
  };
}

/** A table the test handlers write their effects to: one row per effect, in commit order. */
export async function createEffects(pool: pg.Pool, schema: string): Promise<string> {
  const table = `"${schema}".effects`;
  await pool.query(
    `CREATE TABLE ${table} (n bigserial PRIMARY KEY, event_id text NOT NULL, key text NOT NULL, seq integer, payload jsonb)`,
  );
  return table;
}

/**
 * What a consumer test file needs, made before its tests and removed after: a migrated schema,
 * an effects table in it, and a Kafka transport.
 */
export function consumerFixture(): { db: TestSchema; effects: string; transport: Transport } {
  const fixture = { transport: kafka({ brokers }) } as { db: TestSchema; effects: string; transport: Transport };
  before(async () => {
    fixture.db = await freshSchema();
    fixture.effects = await createEffects(fixture.db.pool, fixture.db.schema);
  });
  after(async () => {
    await fixture.transport.close();
    await fixture.db.drop();
  });
  return fixture;
}

/** Each key's effects were written in the order of its events' `seq`. */
export async function assertEffectsInKeyOrder(fixture: { db: TestSchema; effects: string }): Promise<void> {
  const order = await fixture.db.pool.query<{ key: string; seqs: number[] }>(
    `SELECT key, array_agg(seq ORDER BY n) AS seqs FROM ${fixture.effects} GROUP BY key`,
  );
  for (const r of order.rows) {
    assert.deepEqual(
      r.seqs,
      [...r.seqs].sort((a, b) => a - b),
      `order of ${r.key}`,
    );
  }
}
