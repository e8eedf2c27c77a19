import type pg from 'pg';
import { uuidv7 } from '../../src/index.ts';
import type { OutgoingMessage } from '../../src/transports/transport.ts';
import { toBinaryHeaders } from '../../src/wire/cloudevents.ts';

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
