// The soak: writers, a relay and a consumer in this process for a long time at a steady rate,
// sampled every `sampleSeconds`; optionally a broker outage in the middle. Nothing here keeps a
// record per event (the latency rides in the payload), so the process's memory is Herald's.
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { z } from 'zod';
import { type PrivateKafka, privateKafka } from '../infra/kafka.mjs';
import { createConsumer, createOutbox, createRelay, defineEvent, silentLogger } from '../src/index.ts';
import { kafka } from '../src/transports/kafka/index.ts';
import { databaseUrl, freshSchema } from '../test/support/env.ts';
import { createTopic } from '../test/support/kafka.ts';

export interface SoakOptions {
  minutes: number;
  rate: number;
  /** Concurrent writers, each one transaction at a time; enough of them to keep up the rate. */
  writers: number;
  sampleSeconds: number;
  /** The broker is stopped for this long (0: never), starting at `outageAtMinute`. */
  outageMinutes: number;
  outageAtMinute: number;
  log: (line: string) => void;
}

export interface SoakSample {
  /** Seconds since the start. */
  at: number;
  rssMb: number;
  /** The anonymous part of RSS (heap, malloc), from /proc on Linux: RSS less the code and files
   * mapped, which the kernel may drop from an idle process and read again; null elsewhere. */
  rssAnonMb: number | null;
  heapMb: number;
  heapTotalMb: number;
  /** Buffers and other memory outside the JS heap that V8 knows of. */
  externalMb: number;
  handles: number;
  dbConnections: number;
  written: number;
  published: number;
  handled: number;
  /** Committed but not yet handled by the consumer. */
  backlog: number;
  /** Commit → handled in the interval, ms; null when nothing was handled. */
  p50Ms: number | null;
  p99Ms: number | null;
  outage: boolean;
}

export interface SoakResult {
  samples: SoakSample[];
  written: number;
  handled: number;
  lost: number;
  appliedTwice: number;
  writeFailures: number;
  outage: { from: number; to: number } | null;
}

const Tick = (topic: string) =>
  defineEvent({
    type: 'soak.tick',
    version: 1,
    destination: topic,
    schema: z.object({ key: z.string(), n: z.number().int(), at: z.number() }),
    key: (p) => p.key,
  });

const anonRssMb = (): number | null => {
  try {
    const kb = /^RssAnon:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kb === undefined ? null : Math.round(Number(kb) / 1024);
  } catch {
    return null;
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? null : (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number);

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const broker: PrivateKafka = await privateKafka();
  const db = await freshSchema();
  const app = `herald-soak-${process.pid}`;
  const url = new URL(databaseUrl);
  url.searchParams.set('application_name', app);
  const pool = new pg.Pool({ connectionString: url.toString(), max: o.writers + 4 });
  pool.on('error', () => {});
  const brokers = [broker.bootstrap];
  const topic = await createTopic(6, 'herald-soak', {}, brokers);
  const Def = Tick(topic);
  const { schema } = db;
  await pool.query(`CREATE TABLE "${schema}".effects (event_id uuid NOT NULL, key text NOT NULL, n int NOT NULL)`);
  o.log(`private Kafka ${broker.bootstrap}, schema ${schema}, topic ${topic}`);

  const transport = kafka({ brokers, timeoutMs: 2000 });
  const relay = createRelay({ db: pool, schema, transport, logger: silentLogger, retentionDays: 0 });
  const consumer = createConsumer({
    transport: kafka({ brokers, timeoutMs: 2000 }),
    group: 'soak',
    db: pool,
    schema,
    logger: silentLogger,
    lagIntervalMs: 0,
    inboxRetentionDays: 0,
  });
  let latencies: number[] = [];
  consumer.on(Def, async (e, { tx }) => {
    await tx.query(`INSERT INTO "${schema}".effects VALUES ($1, $2, $3)`, [e.id, e.payload.key, e.payload.n]);
    latencies.push(Date.now() - e.payload.at);
  });
  await relay.start();
  await consumer.start();

  const outbox = createOutbox({ schema });
  const started = Date.now();
  const endAt = started + o.minutes * 60_000;
  let written = 0;
  let writeFailures = 0;
  let stopped = false;

  const writer = async (w: number) => {
    let n = 0;
    while (!stopped && Date.now() < endAt) {
      const due = started + (n * o.writers * 1000) / o.rate;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      const client = await pool.connect().catch(() => null);
      if (!client) {
        writeFailures++;
        continue;
      }
      try {
        await client.query('BEGIN');
        await outbox.add(client, Def({ key: `w${w}-k${n % 50}`, n, at: Date.now() }));
        await client.query('COMMIT');
        written++;
        n++;
      } catch {
        writeFailures++;
        await client.query('ROLLBACK').catch(() => {});
      } finally {
        client.release();
      }
    }
  };
  const writing = Promise.all(Array.from({ length: o.writers }, (_, w) => writer(w)));

  const outageFrom = o.outageMinutes > 0 ? started + o.outageAtMinute * 60_000 : null;
  const outageTo = outageFrom === null ? null : outageFrom + o.outageMinutes * 60_000;
  let inOutage = false;
  const samples: SoakSample[] = [];
  const sample = async () => {
    const memory = process.memoryUsage();
    const sorted = latencies.sort((a, b) => a - b);
    latencies = [];
    const conns = await pool
      .query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [app])
      .then((r) => r.rows[0]?.n ?? 0)
      .catch(() => -1);
    const handled = consumer.stats().handled;
    const s: SoakSample = {
      at: Math.round((Date.now() - started) / 1000),
      rssMb: Math.round(memory.rss / 1048576),
      rssAnonMb: anonRssMb(),
      heapMb: Math.round(memory.heapUsed / 1048576),
      heapTotalMb: Math.round(memory.heapTotal / 1048576),
      externalMb: Math.round(memory.external / 1048576),
      // Sockets, servers, files, and so on; timers come and go with every retry and poll.
      handles: process.getActiveResourcesInfo().filter((t) => t !== 'Timeout' && t !== 'Immediate').length,
      dbConnections: conns,
      written,
      published: relay.stats().published,
      handled,
      backlog: written - handled,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      outage: inOutage,
    };
    samples.push(s);
    o.log(
      `${s.at}s rss ${s.rssMb} MB (anonymous ${s.rssAnonMb}) heap ${s.heapMb}/${s.heapTotalMb} MB arrayBuffers ${Math.round(memory.arrayBuffers / 1048576)} MB external ${s.externalMb} MB handles ${s.handles} conns ${s.dbConnections} written ${s.written} handled ${s.handled} backlog ${s.backlog} p50 ${s.p50Ms} p99 ${s.p99Ms}${s.outage ? ' (broker down)' : ''}`,
    );
  };
  while (Date.now() < endAt) {
    const next = Math.min(endAt, Date.now() + o.sampleSeconds * 1000);
    while (Date.now() < next) {
      if (outageFrom !== null && !inOutage && Date.now() >= outageFrom && Date.now() < (outageTo as number)) {
        o.log('stopping the broker');
        await broker.stop();
        inOutage = true;
      }
      if (inOutage && Date.now() >= (outageTo as number)) {
        o.log('starting the broker again');
        await broker.start();
        inOutage = false;
      }
      await sleep(Math.min(1000, Math.max(0, next - Date.now())));
    }
    await sample();
  }
  stopped = true;
  await writing;
  if (process.env.HERALD_SOAK_HEAPSNAPSHOT) {
    const { writeHeapSnapshot } = await import('node:v8');
    o.log(`heap snapshot: ${writeHeapSnapshot(process.env.HERALD_SOAK_HEAPSNAPSHOT)}`);
  }
  if (inOutage) await broker.start();
  o.log(`writers stopped at ${written}; waiting for the consumer`);
  const deadline = Date.now() + 15 * 60_000;
  while (consumer.stats().handled + consumer.stats().duplicates < written && Date.now() < deadline) await sleep(500);
  await sleep(2000);
  await sample();
  await consumer.stop();
  await relay.stop();
  await transport.close();
  const counts = (
    await pool.query<{ n: number; d: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS d FROM "${schema}".effects`,
    )
  ).rows[0] as { n: number; d: number };
  const logged = (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".log`)).rows[0]?.n ?? 0;
  await pool.end();
  await db.drop();
  await broker.destroy();
  return {
    samples,
    written: logged,
    handled: counts.d,
    lost: logged - counts.d,
    appliedTwice: counts.n - counts.d,
    writeFailures,
    outage:
      outageFrom === null ? null : { from: (outageFrom - started) / 1000, to: ((outageTo as number) - started) / 1000 },
  };
}
