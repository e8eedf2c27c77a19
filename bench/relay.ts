import { setTimeout as sleep } from 'node:timers/promises';
import { baselineBatch, baselinePollMs, baselineSystem } from './baseline-relay.ts';
import { measureFailover } from './failover.ts';
import { heraldBatchSize, heraldSystem } from './herald-system.ts';
import { makePayload } from './payload.ts';
import { progress, round, summarize, table } from './stats.ts';
import type { BenchSystem, SystemConfig } from './system.ts';
import { type Copy, type ReadBack, readTopic } from './topic.ts';
import { pacedWritesInWorker } from './writers.ts';

export interface RelayBenchOptions {
  /** Backlog drained by Herald's relay. */
  events: number;
  /** Backlog drained by the baseline. */
  baselineEvents: number;
  rate: number;
  seconds: number;
  json: boolean;
  systems: readonly ('herald' | 'baseline')[];
  /** With N > 1, Herald runs twice in the run: with 1 relay and with N, plus a failover phase. */
  relays: number;
}

export interface SystemResult {
  system: 'herald' | 'baseline';
  /** Relay instances (Herald; the baseline has one). */
  relays: number;
  /** With --relays N: seconds from SIGKILL of one of two relays until events written after it are published. */
  failoverSeconds?: number;
  /** Events committed in both phases. */
  events: number;
  lost: number;
  duplicates: number;
  /** Drain: backlog size / (last append time of the backlog − relay start). */
  eventsPerSec: number;
  /** Steady rate: broker append time − commit time. */
  p50Ms: number;
  p99Ms: number;
  p90Ms: number;
  maxMs: number;
  drainEvents: number;
  drainSeconds: number;
  latencyEvents: number;
  rate: number;
  achievedRate: number;
  seconds: number;
  lateWrites: number;
  failedWrites: number;
  unexpected: number;
  partitions: number;
  batchSize: number;
}

const partitions = 6;
const writers = 32;
const stallMs = 30_000;

/** Waits until `count()` reaches `target`; gives up when it has not moved for `stallMs`. */
async function waitFor(what: string, count: () => number, target: number): Promise<boolean> {
  let last = count();
  let movedAt = Date.now();
  let reportedAt = Date.now();
  while (count() < target) {
    await sleep(2);
    const now = Date.now();
    const c = count();
    if (c !== last) {
      last = c;
      movedAt = now;
    } else if (now - movedAt > stallMs) {
      progress(`${what}: stalled at ${c}/${target}`);
      return false;
    }
    if (now - reportedAt > 5000) {
      progress(`${what}: ${c}/${target}`);
      reportedAt = now;
    }
  }
  return true;
}

/**
 * Waits until `count()` has not moved for `quietMs`. A relay that publishes duplicates reaches
 * its target early; this lets it finish what is left before the topic is read back.
 */
async function settle(count: () => number, quietMs = 1000): Promise<void> {
  let last = count();
  let movedAt = Date.now();
  while (Date.now() - movedAt < quietMs) {
    await sleep(20);
    const c = count();
    if (c !== last) {
      last = c;
      movedAt = Date.now();
    }
  }
}

/** When the first copy of an event was appended. */
function first(copies: readonly Copy[] | undefined): number | undefined {
  if (!copies || copies.length === 0) return undefined;
  return Math.min(...copies.map((c) => c.at));
}

/** Compares what was committed with what the topic holds. */
function tally(name: string, back: ReadBack, drainIds: readonly string[], committedAt: ReadonlyMap<string, number>) {
  const committed = new Set([...drainIds, ...committedAt.keys()]);
  let lost = 0;
  let duplicates = 0;
  let shown = 0;
  for (const id of committed) {
    const copies = back.copies.get(id) ?? [];
    if (copies.length === 0) lost++;
    duplicates += Math.max(0, copies.length - 1);
    if (copies.length > 1 && shown++ < 5) {
      progress(`${name}: duplicate ${id} at ${copies.map((c) => `${c.where} (appended ${c.at})`).join(', ')}`);
    }
  }
  let unexpected = back.unidentified;
  for (const id of back.copies.keys()) if (!committed.has(id)) unexpected++;
  // The drain ends when the last event of the backlog was first appended.
  let drainEnd = Number.NaN;
  for (const id of drainIds) {
    const at = first(back.copies.get(id));
    if (at !== undefined) drainEnd = Number.isNaN(drainEnd) ? at : Math.max(drainEnd, at);
  }
  const latencies: number[] = [];
  for (const [id, at] of committedAt) {
    const appended = first(back.copies.get(id));
    if (appended !== undefined) latencies.push(appended - at);
  }
  return { committed: committed.size, lost, duplicates, unexpected, drainEnd, latencies };
}

async function runSystem(
  sys: BenchSystem,
  drainEvents: number,
  options: RelayBenchOptions,
  env: { databaseUrl: string; brokers: string[] },
): Promise<SystemResult> {
  const { brokers, databaseUrl } = env;
  const name = sys.name;
  progress(`${name}: writing a backlog of ${drainEvents} events (untimed)`);
  const payloads = Array.from({ length: drainEvents }, (_, i) => makePayload(i));
  const drainIds = await sys.writeBacklog(payloads);

  progress(`${name}: draining`);
  const started = Date.now();
  await sys.startRelay();
  await waitFor(`${name} drain`, () => sys.published(), drainEvents);
  const drainedIn = Date.now() - started;
  await settle(() => sys.published());
  progress(
    `${name}: published ${sys.published()} (drain done in ~${drainedIn} ms); offering ${options.rate}/s for ${options.seconds} s`,
  );

  const writes = await pacedWritesInWorker({
    spec: sys.writer,
    databaseUrl,
    rate: options.rate,
    seconds: options.seconds,
    concurrency: writers,
    firstIndex: drainEvents,
  });
  progress(`${name}: ${writes.committed.size} committed in ${Math.round(writes.elapsedMs)} ms; waiting for the relay`);
  progress(`${name}: commits in each second: ${Array.from(writes.perSecond, (n) => n ?? 0).join(' ')}`);
  await waitFor(`${name} steady`, () => sys.published(), drainEvents + writes.committed.size);
  await settle(() => sys.published());
  await sys.stopRelay();

  progress(`${name}: reading ${sys.topic} back`);
  const back = await readTopic(brokers, sys.topic);
  const t = tally(name, back, drainIds, writes.committed);
  const drainSeconds = (t.drainEnd - started) / 1000;
  const l = summarize(t.latencies);
  return {
    system: name,
    relays: sys.relays,
    events: t.committed,
    lost: t.lost,
    duplicates: t.duplicates,
    eventsPerSec: round(drainEvents / drainSeconds, 0),
    p50Ms: l.p50,
    p99Ms: l.p99,
    p90Ms: l.p90,
    maxMs: l.max,
    drainEvents,
    drainSeconds: round(drainSeconds, 3),
    latencyEvents: writes.committed.size,
    rate: options.rate,
    achievedRate: round(writes.committed.size / (writes.elapsedMs / 1000), 0),
    seconds: options.seconds,
    lateWrites: writes.late,
    failedWrites: writes.failed,
    unexpected: t.unexpected,
    partitions,
    batchSize: name === 'herald' ? heraldBatchSize : baselineBatch,
  };
}

export async function relayBench(options: RelayBenchOptions, env: { databaseUrl: string; brokers: string[] }) {
  const config: SystemConfig = { databaseUrl: env.databaseUrl, brokers: env.brokers, partitions, writers };
  const results: SystemResult[] = [];
  const runs = options.systems.flatMap((name) =>
    name === 'herald' && options.relays > 1
      ? [
          { name, relays: 1 },
          { name, relays: options.relays },
        ]
      : [{ name, relays: 1 }],
  );
  for (const { name, relays } of runs) {
    const sys = name === 'herald' ? await heraldSystem(config, relays) : await baselineSystem(config);
    try {
      const result = await runSystem(sys, name === 'herald' ? options.events : options.baselineEvents, options, env);
      if (relays > 1) {
        progress(`herald: failover phase (2 relay processes, one SIGKILLed)`);
        result.failoverSeconds = (await measureFailover(env)).failoverSeconds;
      }
      results.push(result);
      if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    } finally {
      await sys.close();
    }
  }
  if (!options.json) process.stdout.write(`${report(results)}\n`);
  return results;
}

function report(results: SystemResult[]): string {
  const h = results.find((r) => r.system === 'herald' && r.relays === 1);
  const many = results.find((r) => r.system === 'herald' && r.relays > 1);
  const b = results.find((r) => r.system === 'baseline');
  const cell = (r: SystemResult | undefined, f: (r: SystemResult) => number) => (r ? String(f(r)) : '-');
  const ratio = (f: (r: SystemResult) => number, note: (x: number) => string) => {
    if (!h || !b) return '-';
    const x = f(h) / f(b);
    return Number.isFinite(x) ? `${round(x, 3)} (${note(x)})` : '-';
  };
  const rows: string[][] = [['', 'herald', 'baseline', 'herald/baseline']];
  const add = (label: string, f: (r: SystemResult) => number, note?: (x: number) => string) =>
    rows.push([label, cell(h, f), cell(b, f), note ? ratio(f, note) : '']);
  add('drain backlog (events)', (r) => r.drainEvents);
  add(
    'drain throughput (events/s)',
    (r) => r.eventsPerSec,
    (x) => `${round(x, 1)}x the throughput`,
  );
  add('drain time (s)', (r) => r.drainSeconds);
  add('offered rate (events/s)', (r) => r.rate);
  add('achieved rate (events/s)', (r) => r.achievedRate);
  add('latency events', (r) => r.latencyEvents);
  add(
    'commit→ack p50 (ms)',
    (r) => r.p50Ms,
    (x) => `${round(1 / x, 1)}x lower`,
  );
  add(
    'commit→ack p90 (ms)',
    (r) => r.p90Ms,
    (x) => `${round(1 / x, 1)}x lower`,
  );
  add(
    'commit→ack p99 (ms)',
    (r) => r.p99Ms,
    (x) => `${round(1 / x, 1)}x lower`,
  );
  add('commit→ack max (ms)', (r) => r.maxMs);
  add('events committed', (r) => r.events);
  add('lost', (r) => r.lost);
  add('duplicates', (r) => r.duplicates);
  add('unexpected', (r) => r.unexpected);
  const notes = [
    `Kafka topic per system, ${partitions} partitions, LogAppendTime; ${writers} writer connections.`,
    `herald: batchSize ${heraldBatchSize}; baseline: ${baselineBatch} rows per ${baselinePollMs} ms tick, one send at a time.`,
  ];
  if (many) {
    notes.push(
      `herald with ${many.relays} relays: drain ${many.eventsPerSec} events/s, p99 ${many.p99Ms} ms, lost ${many.lost}, duplicates ${many.duplicates}; failover after SIGKILL ${many.failoverSeconds ?? '-'} s.`,
    );
  }
  return `${table(rows)}\n\n${notes.join('\n')}`;
}
