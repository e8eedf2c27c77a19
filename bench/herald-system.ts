import pg from 'pg';
import { z } from 'zod';
import {
  createOutbox,
  createRelay,
  defineEvent,
  migrate,
  type PrometheusMetrics,
  prometheusMetrics,
  type Relay,
  silentLogger,
} from '../src/index.ts';
import { withTransaction } from '../src/store/connect.ts';
import { dropReplication, ensurePublication, ensureSlot } from '../src/store/replication.ts';
import type { BenchPayload } from './payload.ts';
import {
  type BenchSource,
  type BenchSystem,
  backlogChunk,
  commitTimed,
  relayApplicationName,
  type SystemConfig,
  type Writer,
} from './system.ts';
import { uniqueName } from './topic.ts';
import { firstTimes, recordAcks } from './transports.ts';

/** Herald's batch size in the benchmark (also its default). */
export const heraldBatchSize = 1000;

/** The application side of Herald: outbox.add in the writer's own transaction. */
export function heraldWriter(pool: pg.Pool, schema: string, topic: string, mode: 'log' | 'wal' = 'log'): Writer {
  const Event = defineEvent({
    type: 'bench.event',
    version: 1,
    destination: topic,
    schema: z.object({
      key: z.string(),
      n: z.number().int(),
      data: z.string().optional(),
      items: z.array(z.object({ id: z.number().int(), name: z.string(), price: z.number() })).optional(),
    }),
    key: (p) => p.key,
  });
  const outbox = createOutbox({ schema, source: '/herald-bench', mode });
  return {
    async writeBacklog(payloads: readonly BenchPayload[]) {
      const ids: string[] = [];
      for (let i = 0; i < payloads.length; i += backlogChunk) {
        const events = payloads.slice(i, i + backlogChunk).map((p) => Event(p));
        await withTransaction(pool, (tx) => outbox.add(tx, events));
        for (const e of events) ids.push(e.id);
      }
      return ids;
    },
    commit(payloads: readonly BenchPayload[]) {
      return commitTimed(pool, async (tx) => {
        const added = await outbox.add(
          tx,
          payloads.map((p) => Event(p)),
        );
        return added.map((e) => e.id);
      });
    },
  };
}

/** Scrapes while the relay runs, as Prometheus would (more often than its usual 15 s). */
export const scrapeEveryMs = 5_000;

/**
 * Herald as an application deploys it: `instances` relays from the log to the broker, each with a
 * pool and a transport of its own; with `metrics`, reporting to a Prometheus registry that is
 * scraped every `scrapeEveryMs` while the relays run.
 */
export async function heraldSystem(
  config: SystemConfig,
  instances = 1,
  metrics = false,
  source: BenchSource = 'polling',
): Promise<BenchSystem> {
  // The table-less outbox is read by the CDC source; its events exist only in the WAL.
  const mode = source === 'table-less' ? 'wal' : 'log';
  const relaySource = source === 'polling' ? 'polling' : 'cdc';
  const app = relayApplicationName('herald');
  const schema = uniqueName('herald_bench');
  const topic = await config.transport.prepare('herald-bench-herald');
  const admin = new pg.Pool({ connectionString: config.databaseUrl, max: 2 });
  const relayPools = Array.from(
    { length: instances },
    // Backends that live through the run (no idle timeout), named, so their CPU can be counted.
    () => new pg.Pool({ connectionString: config.databaseUrl, max: 4, application_name: app, idleTimeoutMillis: 0 }),
  );
  admin.on('error', () => {});
  for (const p of relayPools) p.on('error', () => {});
  await migrate(admin, { schema });
  const writer = heraldWriter(admin, schema, topic, mode);
  if (mode === 'wal') {
    // Table-less events written before the slot exists are in no slot: make it before the backlog.
    await ensurePublication(admin, schema);
    await ensureSlot(admin, schema, 30_000);
  }
  let relays: Relay[] = [];
  const acked = firstTimes();
  const handed = firstTimes();
  const registry: PrometheusMetrics | undefined = metrics ? await prometheusMetrics() : undefined;
  let scraper: NodeJS.Timeout | undefined;

  return {
    name: 'herald',
    relays: instances,
    source,
    applicationName: app,
    metrics,
    topic,
    writer: { system: 'herald', schema, topic, mode },
    writeBacklog: (payloads) => writer.writeBacklog(payloads),
    async startRelay() {
      relays = relayPools.map((db) =>
        createRelay({
          db,
          schema,
          transport: recordAcks(config.transport.create('herald-bench-relay'), acked, handed),
          logger: silentLogger,
          batchSize: heraldBatchSize,
          source: relaySource,
          ...(relaySource === 'cdc' ? { replicationUrl: withApplicationName(config.databaseUrl, app) } : {}),
          ...(registry ? { metrics: registry } : {}),
        }),
      );
      await Promise.all(relays.map((r) => r.start()));
      if (registry) {
        const scrape = () => void registry.scrape().catch(() => {});
        scrape();
        scraper = setInterval(scrape, scrapeEveryMs);
      }
    },
    published: () => relays.reduce((n, r) => n + r.stats().published, 0),
    get acked() {
      return acked.map;
    },
    get handed() {
      return handed.map;
    },
    async stopRelay() {
      clearInterval(scraper);
      for (const r of relays) {
        const { lastError } = r.stats();
        if (lastError) process.stderr.write(`herald relay: last error ${JSON.stringify(lastError)}\n`);
      }
      await Promise.all(relays.map((r) => r.stop()));
    },
    async close() {
      clearInterval(scraper);
      await Promise.all(relays.map((r) => r.stop().catch(() => {})));
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
      await config.transport.remove(topic).catch(() => {});
      await Promise.all([admin.end(), ...relayPools.map((p) => p.end())]);
      if (relaySource === 'cdc') {
        const db = new pg.Pool({ connectionString: config.databaseUrl, max: 1 });
        await dropReplication(db, schema).catch(() => {});
        await db.end();
      }
    },
  };
}

/** The connection string with application_name set (the replication connection's walsender). */
function withApplicationName(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('application_name', name);
  return parsed.toString();
}
