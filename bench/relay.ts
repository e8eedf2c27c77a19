import pg from 'pg';
import { baselineBatch, baselineSystem } from './baseline-relay.ts';
import { cpuMeter, cpuProbe, per10k } from './cpu.ts';
import { debeziumBatch, debeziumSystem } from './debezium-system.ts';
import { measureFailover } from './failover.ts';
import { heraldBatchSize, heraldSystem } from './herald-system.ts';
import { reportKafkaFloor } from './kafka-floor.ts';
import { metricsCostPerEvent } from './metrics-cost.ts';
import type { PacedResult } from './pace.ts';
import { makePayload, type PayloadShape } from './payload.ts';
import { report } from './relay-report.ts';
import type { RateResult, SystemResult } from './relay-result.ts';
import { progress, round, summarize } from './stats.ts';
import type { BenchSource, BenchSystem, SystemConfig, SystemName } from './system.ts';
import { type Copy, type ReadBack, uniqueName } from './topic.ts';
import { type BenchEnv, type BenchTransport, makeTransport, type TransportName } from './transports.ts';
import { settle, waitFor } from './wait.ts';
import { pacedWritesInWorker } from './writers.ts';

export interface RelayBenchOptions {
  /** The brokers to run on, one after the other. */
  transports: readonly TransportName[];
  /** Backlog drained by Herald's relay, per transport. */
  events: (transport: TransportName) => number;
  /** Backlog drained by the baseline, per transport. */
  baselineEvents: (transport: TransportName) => number;
  /** Events per second offered in the latency phase, one after the other (a sweep); the first is `rate`. */
  rates: readonly number[];
  seconds: number;
  /** Events each transaction of the latency phase writes (1 by default). */
  eventsPerTx: number;
  /** The payloads' shape (--payload): flat (default) or structured. */
  payload: PayloadShape;
  /** CPU seconds per 10,000 events of the bench's main thread during the drain (Herald's relay runs there). */
  drainThreadCpuSecPer10k?: number;
  /** Share of all the machine's cores busy during the drain, in per cent. */
  drainMachineBusyPct?: number | null;
  json: boolean;
  systems: readonly SystemName[];
  /** With N > 1, Herald runs twice in the run: with 1 relay and with N, plus a failover phase. */
  relays: number;
  /** Herald also runs with metrics on (Prometheus, scraped), in the same run, to measure their cost. */
  metrics: boolean;
  /** Herald's relay sources to run, one after the other (--source polling|cdc|table-less|all). */
  sources: readonly BenchSource[];
}

const partitions = 6;
const writers = 32;

/** When the first copy of an event was appended. */
function first(copies: readonly Copy[] | undefined): number | undefined {
  if (!copies || copies.length === 0) return undefined;
  return Math.min(...copies.map((c) => c.at));
}

/** When the first event of the backlog arrived. */
function firstArrival(back: ReadBack, drainIds: readonly string[]): number {
  let at = Number.POSITIVE_INFINITY;
  for (const id of drainIds) at = Math.min(at, first(back.copies.get(id)) ?? at);
  return at;
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

/** The relay's acks as a read-back: one copy per event, at the time its publish() resolved. */
function ackedBack(acked: ReadonlyMap<string, number>): ReadBack {
  const copies = new Map<string, Copy[]>();
  for (const [id, at] of acked) copies.set(id, [{ at, where: 'ack' }]);
  return { copies, messages: acked.size, unidentified: 0 };
}

async function runSystem(
  sys: BenchSystem,
  transport: BenchTransport,
  drainEvents: number,
  options: RelayBenchOptions,
  env: BenchEnv,
): Promise<SystemResult> {
  const { databaseUrl } = env;
  const name = sys.name;
  progress(`${name}: writing a backlog of ${drainEvents} events (untimed)`);
  const payloads = Array.from({ length: drainEvents }, (_, i) => makePayload(i, undefined, options.payload));
  const drainIds = await sys.writeBacklog(payloads);

  progress(`${name}: observing ${sys.topic} on ${transport.name} (untimed)`);
  const probeDb = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  probeDb.on('error', () => {});
  const observer = await transport.observe(sys.topic);
  try {
    progress(`${name}: draining`);
    const meter = cpuMeter();
    const started = Date.now();
    await sys.startRelay();
    await waitFor(`${name} drain`, () => sys.published(), drainEvents);
    const drainedIn = Date.now() - started;
    // The drain's CPU: the main thread (the relay, but for Debezium's JVM) and the whole machine.
    const used = meter.stop(drainEvents);
    const drainCpu = { drainThreadCpuSecPer10k: used.threadCpuSecPer10k, drainMachineBusyPct: used.machineBusyPct };
    await settle(() => sys.published());
    progress(`${name}: published ${sys.published()} (drain done in ~${drainedIn} ms)`);

    const probe = await cpuProbe(probeDb, sys.applicationName, { slot: sys.slot, pid: sys.relayPid?.() });
    // The latency phase at each rate in turn; CPU per 10,000 events is the first rate's.
    const phases: { rate: number; writes: PacedResult }[] = [];
    let cpu: ReturnType<typeof per10k> | undefined;
    let written = drainEvents; // payload numbers used
    let committed = drainEvents; // events the relay must have published
    for (const rate of options.rates) {
      progress(`${name}: offering ${rate}/s for ${options.seconds} s`);
      const cpuBefore = probe.sample();
      const writes = await pacedWritesInWorker({
        spec: sys.writer,
        databaseUrl,
        rate,
        seconds: options.seconds,
        concurrency: writers,
        eventsPerTx: options.eventsPerTx,
        firstIndex: written,
        payload: options.payload,
      });
      written += writes.offered * options.eventsPerTx;
      progress(
        `${name}: ${writes.committed.size} committed in ${Math.round(writes.elapsedMs)} ms; waiting for the relay`,
      );
      progress(`${name}: commits in each second: ${Array.from(writes.perSecond, (n) => n ?? 0).join(' ')}`);
      committed += writes.committed.size;
      await waitFor(`${name} steady`, () => sys.published(), committed);
      cpu ??= per10k(cpuBefore, probe.sample(), writes.committed.size);
      await settle(() => sys.published());
      phases.push({ rate, writes });
    }
    await sys.stopRelay();

    const committedAt = new Map(phases.flatMap((p) => [...p.writes.committed]));
    progress(`${name}: reading ${sys.topic} back`);
    const back = await observer.readBack(new Set([...drainIds, ...committedAt.keys()]));
    const t = tally(name, back, drainIds, committedAt);
    // A relay that takes seconds to start (Debezium's JVM) is timed from its first event's arrival.
    const drainStart = sys.slowStart ? firstArrival(back, drainIds) : started;
    const drainSeconds = (t.drainEnd - drainStart) / 1000;
    const acks = ackedBack(sys.acked);
    const hands = sys.handed ? ackedBack(sys.handed) : null;
    const a = tally(`${name} acks`, acks, drainIds, committedAt);
    const sweep = phases.map(({ rate, writes }): RateResult => {
      const l = summarize(tally(name, back, [], writes.committed).latencies);
      const ack = summarize(tally(`${name} acks`, acks, [], writes.committed).latencies);
      const hand = hands ? summarize(tally(`${name} reads`, hands, [], writes.committed).latencies) : null;
      const tx = summarize(writes.txMs);
      return {
        rate,
        achievedRate: round(writes.committed.size / (writes.elapsedMs / 1000), 0),
        lateWrites: writes.late,
        failedWrites: writes.failed,
        events: writes.committed.size,
        p50Ms: l.p50,
        p90Ms: l.p90,
        p99Ms: l.p99,
        maxMs: l.max,
        ackP50Ms: ack.p50,
        ackP99Ms: ack.p99,
        readP50Ms: hand?.p50 ?? null,
        readP99Ms: hand?.p99 ?? null,
        txP50Ms: tx.p50,
        txP99Ms: tx.p99,
      };
    });
    const [l] = sweep as [RateResult];
    return {
      system: name,
      relays: sys.relays,
      metrics: sys.metrics ?? false,
      transport: transport.name,
      events: t.committed,
      lost: t.lost,
      duplicates: t.duplicates,
      eventsPerSec: round(drainEvents / drainSeconds, 0),
      p50Ms: l.p50Ms,
      p99Ms: l.p99Ms,
      p90Ms: l.p90Ms,
      maxMs: l.maxMs,
      drainEvents,
      drainSeconds: round(drainSeconds, 3),
      latencyEvents: l.events,
      rate: l.rate,
      achievedRate: l.achievedRate,
      seconds: options.seconds,
      eventsPerTx: options.eventsPerTx,
      payload: options.payload,
      lateWrites: l.lateWrites,
      failedWrites: l.failedWrites,
      unexpected: t.unexpected,
      partitions: transport.partitions,
      batchSize: name === 'herald' ? heraldBatchSize : name === 'debezium' ? debeziumBatch : baselineBatch,
      ackEventsPerSec: round(drainEvents / ((a.drainEnd - drainStart) / 1000), 0),
      ackP50Ms: l.ackP50Ms,
      ackP99Ms: l.ackP99Ms,
      source: sys.source,
      ...(cpu as ReturnType<typeof per10k>),
      ...drainCpu,
      sweep,
    };
  } finally {
    await observer.close();
    await probeDb.end();
  }
}

/** One transport: Herald (with 1 relay, and with N), then the baseline, each on a destination of its own. */
async function relayOn(
  transportName: TransportName,
  options: RelayBenchOptions,
  env: BenchEnv,
  results: SystemResult[],
): Promise<void> {
  // With --metrics, off and on twice each in the order off, on, on, off: neither has the warmer
  // machine or the fuller database more often.
  const runs = options.systems.flatMap((name) => [
    ...(name === 'herald' ? options.sources : name === 'debezium' ? (['cdc'] as const) : (['polling'] as const)).map(
      (source) => ({
        name,
        relays: 1,
        metrics: false,
        source,
      }),
    ),
    ...(name === 'herald' && options.metrics
      ? [
          { name, relays: 1, metrics: true, source: 'polling' as const },
          { name, relays: 1, metrics: true, source: 'polling' as const },
          { name, relays: 1, metrics: false, source: 'polling' as const },
        ]
      : []),
    ...(name === 'herald' && options.relays > 1
      ? [{ name, relays: options.relays, metrics: false, source: 'polling' as const }]
      : []),
  ]);
  for (const { name, relays, metrics, source } of runs) {
    progress(
      `${transportName}: ${name}${relays > 1 ? ` with ${relays} relays` : ''}${metrics ? ' with metrics' : ''}${name === 'herald' ? ` (source ${source})` : ''}`,
    );
    const transport = await makeTransport(transportName, env, { group: uniqueName('herald-bench'), partitions });
    try {
      const config: SystemConfig = {
        databaseUrl: env.databaseUrl,
        transport,
        partitions,
        writers,
        brokers: env.brokers,
      };
      const sys =
        name === 'herald'
          ? await heraldSystem(config, relays, metrics, source)
          : name === 'debezium'
            ? await debeziumSystem(config)
            : await baselineSystem(config);
      try {
        const drainEvents = name === 'herald' ? options.events(transportName) : options.baselineEvents(transportName);
        const result = await runSystem(sys, transport, drainEvents, options, env);
        if (relays > 1) {
          if (transportName === 'kafka') {
            progress(`herald: failover phase (2 relay processes, one SIGKILLed)`);
            result.failoverSeconds = (await measureFailover(env)).failoverSeconds;
          } else {
            progress(`herald: no failover phase on ${transportName}: the benchmark times failover on Kafka only`);
          }
        }
        results.push(result);
        if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      } finally {
        await sys.close();
      }
    } finally {
      await transport.close();
    }
  }
  if (transportName === 'kafka' && options.systems.includes('herald')) {
    // What publishing alone reaches here, in the same run: the bound of the drain above.
    await reportKafkaFloor(env, partitions, options.events(transportName), options.json);
  }
}

export interface RelayBenchOutcome {
  results: SystemResult[];
  /** Transports whose run failed, with the error. */
  failed: { transport: TransportName; error: string }[];
}

export async function relayBench(options: RelayBenchOptions, env: BenchEnv): Promise<RelayBenchOutcome> {
  const results: SystemResult[] = [];
  const failed: RelayBenchOutcome['failed'] = [];
  const cost = options.metrics ? await metricsCostPerEvent() : undefined;
  if (cost && options.json) process.stdout.write(`${JSON.stringify({ metricsCostUsPerEvent: cost })}\n`);
  for (const transportName of options.transports) {
    const before = results.length;
    try {
      await relayOn(transportName, options, env, results);
    } catch (error) {
      // With --transport all, one broker that is down or broken does not stop the others.
      const message = (error as Error).stack ?? String(error);
      progress(`${transportName}: run failed: ${message}`);
      failed.push({ transport: transportName, error: (error as Error).message ?? String(error) });
    }
    if (!options.json && results.length > before) {
      process.stdout.write(`${report(transportName, results.slice(before), writers, cost)}\n\n`);
    }
  }
  return { results, failed };
}
