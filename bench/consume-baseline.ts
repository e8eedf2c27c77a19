import { Consumer, MessagesStreamFallbackModes, MessagesStreamModes } from '@platformatic/kafka';
import type pg from 'pg';
import { uuidv7 } from '../src/index.ts';
import type { OutgoingMessage } from '../src/transports/transport.ts';
import { toBinaryHeaders } from '../src/wire/cloudevents.ts';
import { type BenchPayload, distinctKeys, makePayload } from './payload.ts';
import { progress } from './stats.ts';
import { uniqueName } from './topic.ts';

/** The topic both systems read, and the seed-style consumer of `npm run bench -- consume`. */

export const eventType = 'bench.consumed';

/** The topic's content: every event once, and a share of them again, a tenth of the events later. */
export function buildDeliveries(topic: string, events: number, share: number, keys = distinctKeys) {
  const dupCount = Math.round(events * share);
  const isDup = (i: number) => Math.floor(((i + 1) * dupCount) / events) > Math.floor((i * dupCount) / events);
  const gap = Math.ceil(events / 10);
  const time = new Date();
  const originals: OutgoingMessage[] = Array.from({ length: events }, (_, n) => {
    const payload = makePayload(n, keys);
    const id = uuidv7();
    return {
      id,
      topic,
      key: payload.key,
      value: Buffer.from(JSON.stringify(payload)),
      headers: toBinaryHeaders(
        {
          id,
          type: eventType,
          source: '/herald-bench',
          time,
          subject: null,
          dataversion: 1,
          partitionkey: payload.key,
          correlationid: null,
          causationid: null,
          traceparent: null,
          tracestate: null,
        },
        {},
      ),
    };
  });
  const deliveries: OutgoingMessage[] = [];
  originals.forEach((m, i) => {
    deliveries.push(m);
    if (i >= gap && isDup(i - gap)) deliveries.push(originals[i - gap] as OutgoingMessage);
  });
  for (let i = Math.max(0, events - gap); i < events; i++)
    if (isDup(i)) deliveries.push(originals[i] as OutgoingMessage);
  return { deliveries, duplicates: deliveries.length - events };
}

/** The seed's processed table; the effects table is the same for every system. */
export function baselineTablesSql(s: string): string {
  return `CREATE TABLE ${s}.processed (
  event_id text PRIMARY KEY,
  processed_at timestamptz NOT NULL DEFAULT now()
)`;
}

export interface BaselineRun {
  /** Messages handled: processed or found already processed. */
  deliveries: number;
  /** Deliveries IsProcessed found already processed (handler not run). */
  skipped: number;
  /** From creating the consumer until the last delivery's offset was committed. */
  elapsedMs: number;
  /** From creating the consumer until the first message arrived (joining the group, first fetch). */
  firstMessageMs: number;
  /** Time in the three statements, summed over all messages. */
  databaseMs: number;
  /** Time in `await message.commit()`, summed over all messages. */
  offsetCommitMs: number;
}

/**
 * The consumer as the seed services write it: one message at a time, in the order the stream
 * gives them; `IsProcessed` (a SELECT on a processed table by event id), the handler (one INSERT),
 * `MarkProcessed` (an INSERT into the processed table), each its own autocommitted statement with
 * no transaction around them, then a synchronous commit of the message's offset.
 */
/** The Kafka client's own consumer, in a group of its own: what the bench's non-Herald consumers read with. */
export const rawConsumer = (brokers: string[], name: string) =>
  new Consumer({ groupId: uniqueName(name), clientId: name, bootstrapBrokers: brokers, maxWaitTime: 500 });

/** The whole topic from its start, offsets committed by hand; `fetch` sizes the fetches and the decoded buffer. */
export const readFromStart = (
  consumer: Consumer,
  topic: string,
  fetch: { maxBytes?: number; highWaterMark?: number } = {},
) =>
  consumer.consume({
    topics: [topic],
    mode: MessagesStreamModes.COMMITTED,
    fallbackMode: MessagesStreamFallbackModes.EARLIEST,
    autocommit: false,
    ...fetch,
  });

export async function runBaselineConsumer(options: {
  brokers: string[];
  topic: string;
  pool: pg.Pool;
  /** Quoted schema name. */
  s: string;
  deliveries: number;
  timeoutMs?: number;
}): Promise<BaselineRun> {
  const { pool, s } = options;
  const isProcessed = async (id: string) =>
    ((await pool.query(`SELECT 1 FROM ${s}.processed WHERE event_id = $1`, [id])).rowCount ?? 0) > 0;
  const markProcessed = (id: string) => pool.query(`INSERT INTO ${s}.processed (event_id) VALUES ($1)`, [id]);
  const handler = (id: string, payload: BenchPayload) =>
    pool.query(`INSERT INTO ${s}.effects (event_id, key, n) VALUES ($1, $2, $3)`, [id, payload.key, payload.n]);

  const started = performance.now();
  let reportedAt = started;
  const consumer = rawConsumer(options.brokers, 'herald-bench-baseline');
  const run: BaselineRun = {
    deliveries: 0,
    skipped: 0,
    elapsedMs: 0,
    firstMessageMs: 0,
    databaseMs: 0,
    offsetCommitMs: 0,
  };
  try {
    const stream = await readFromStart(consumer, options.topic);
    const deadline = setTimeout(() => void stream.close(), options.timeoutMs ?? 600_000);
    try {
      for await (const m of stream) {
        if (run.deliveries === 0) run.firstMessageMs = performance.now() - started;
        let id = '';
        for (const [k, v] of m.headers) if (k.toString() === 'ce_id') id = v.toString();
        const payload = JSON.parse((m.value as Buffer).toString()) as BenchPayload;
        const t0 = performance.now();
        if (await isProcessed(id)) {
          run.skipped++;
        } else {
          await handler(id, payload);
          await markProcessed(id);
        }
        const t1 = performance.now();
        await m.commit();
        run.offsetCommitMs += performance.now() - t1;
        run.databaseMs += t1 - t0;
        run.deliveries++;
        if (performance.now() - reportedAt > 5000) {
          reportedAt = performance.now();
          progress(`baseline: ${run.deliveries}/${options.deliveries}`);
        }
        if (run.deliveries >= options.deliveries) break;
      }
      run.elapsedMs = performance.now() - started;
    } finally {
      clearTimeout(deadline);
      await stream.close().catch(() => {});
    }
  } finally {
    await consumer.close(true).catch(() => {});
  }
  if (run.deliveries < options.deliveries) {
    throw new Error(`baseline: the stream ended after ${run.deliveries} of ${options.deliveries} deliveries`);
  }
  return run;
}
