// The human report of `npm run bench -- relay`: one table per transport, Herald against the
// baseline, Herald's sources side by side, and the notes on metrics and several relays.
import { baselineBatch, baselinePollMs } from './baseline-relay.ts';
import { DEBEZIUM_VERSION, debeziumPollMs } from './debezium-system.ts';
import { heraldBatchSize, scrapeEveryMs } from './herald-system.ts';
import type { metricsCostPerEvent } from './metrics-cost.ts';
import type { SystemResult } from './relay-result.ts';
import { round, table } from './stats.ts';
import type { TransportName } from './transports.ts';

export function report(
  transportName: TransportName,
  results: SystemResult[],
  writers: number,
  cost?: Awaited<ReturnType<typeof metricsCostPerEvent>>,
): string {
  const h = results.find((r) => r.system === 'herald' && r.relays === 1 && !r.metrics && r.source === 'polling');
  const single = results.filter((r) => r.system === 'herald' && r.relays === 1);
  const withMetrics = single.filter((r) => r.metrics);
  const without = single.filter((r) => !r.metrics);
  const many = results.find((r) => r.system === 'herald' && r.relays > 1);
  const b = results.find((r) => r.system === 'baseline');
  const cell = (r: SystemResult | undefined, f: (r: SystemResult) => number) => (r ? String(f(r)) : '-');
  const ratio = (f: (r: SystemResult) => number, note: (x: number) => string) => {
    if (!h || !b) return '-';
    const x = f(h) / f(b);
    return Number.isFinite(x) ? `${round(x, 3)} (${note(x)})` : '-';
  };
  const rows: string[][] = [[transportName, 'herald', 'baseline', 'herald/baseline']];
  // Kafka: the broker's append time, i.e. its ack; elsewhere: received by the observing consumer.
  const arrival = transportName === 'kafka' ? 'commit→ack' : 'commit→arrival';
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
    `${arrival} p50 (ms)`,
    (r) => r.p50Ms,
    (x) => `${round(1 / x, 1)}x lower`,
  );
  add(
    `${arrival} p90 (ms)`,
    (r) => r.p90Ms,
    (x) => `${round(1 / x, 1)}x lower`,
  );
  add(
    `${arrival} p99 (ms)`,
    (r) => r.p99Ms,
    (x) => `${round(1 / x, 1)}x lower`,
  );
  add(`${arrival} max (ms)`, (r) => r.maxMs);
  add('events committed', (r) => r.events);
  add('lost', (r) => r.lost);
  add('duplicates', (r) => r.duplicates);
  add('unexpected', (r) => r.unexpected);
  add(
    'drain to relay ack (events/s)',
    (r) => r.ackEventsPerSec,
    (x) => `${round(x, 1)}x the throughput`,
  );
  add('commit→relay ack p50 (ms)', (r) => r.ackP50Ms);
  add('commit→relay ack p99 (ms)', (r) => r.ackP99Ms);
  const cpuCell = (v: number | null) => (v === null ? NaN : v);
  add('relay CPU s / 10k events (steady)', (r) => cpuCell(r.relayCpuSecPer10k));
  add("relay's PG backends CPU s / 10k", (r) => cpuCell(r.relayPgCpuSecPer10k));
  add('PostgreSQL CPU s / 10k (server, not writers)', (r) => cpuCell(r.pgCpuSecPer10k));
  const where =
    transportName === 'kafka'
      ? `Kafka topic per system, ${results[0]?.partitions ?? '-'} partitions, LogAppendTime (arrival = broker append time)`
      : `${transportName} destination per system, ${results[0]?.partitions ?? '-'} ordered stream(s); arrival = received by a subscription of the transport`;
  const notes = [
    `transport ${transportName}: ${where}; ${writers} writer connections.`,
    `herald: batchSize ${heraldBatchSize}; baseline: ${baselineBatch} rows per ${baselinePollMs} ms tick, one publish([one]) at a time.`,
  ];
  if (withMetrics.length > 0 && without.length > 0) {
    const mean = (rs: SystemResult[], f: (r: SystemResult) => number) =>
      round(rs.reduce((n, r) => n + f(r), 0) / rs.length, 0);
    const on = mean(withMetrics, (r) => r.eventsPerSec);
    const off = mean(without, (r) => r.eventsPerSec);
    const each = (rs: SystemResult[]) => rs.map((r) => r.eventsPerSec).join(', ');
    notes.push(
      `herald with metrics (Prometheus, scraped every ${scrapeEveryMs / 1000} s): drain ${on} events/s (${each(withMetrics)}) against ${off} without (${each(without)}), ${round((on / off) * 100, 1)} % of it; p99 ${mean(withMetrics, (r) => r.p99Ms)} ms against ${mean(without, (r) => r.p99Ms)} ms.`,
    );
    if (cost) {
      notes.push(
        `metrics' own CPU time (no broker): relay ${round(cost.onUs - cost.offUs, 3)} µs per event (${round(cost.onUs, 3)} on, ${round(cost.offUs, 3)} off); consumer ${round(cost.consumerOnUs - cost.consumerOffUs, 3)} µs per message (${round(cost.consumerOnUs, 3)} on, ${round(cost.consumerOffUs, 3)} off).`,
      );
    }
  }
  const dbz = results.find((r) => r.system === 'debezium');
  if (dbz) {
    notes.push(
      `debezium: PostgreSQL connector ${DEBEZIUM_VERSION} (pgoutput, max.batch.size ${dbz.batchSize}, poll.interval.ms ${debeziumPollMs} instead of its default 500) with the outbox EventRouter on Kafka Connect 4.1.1 standalone (producer acks=all, idempotent); its drain is timed from its first event's arrival (the JVM's start is left out); relay CPU is the JVM's, its PG backends the walsender.`,
    );
  }
  if (many) {
    notes.push(
      `herald with ${many.relays} relays: drain ${many.eventsPerSec} events/s, p99 ${many.p99Ms} ms, lost ${many.lost}, duplicates ${many.duplicates}; failover after SIGKILL ${many.failoverSeconds ?? '-'} s.`,
    );
  }
  // Herald's sources side by side, and Debezium's outbox router when it ran.
  const bySource = [
    ...results.filter((r) => r.system === 'herald' && r.relays === 1 && !r.metrics),
    ...results.filter((r) => r.system === 'debezium'),
  ];
  const label = (r: SystemResult) => (r.system === 'debezium' ? 'debezium outbox router' : `herald ${r.source}`);
  const sourcesTable =
    bySource.length > 1
      ? `\n\n${table([
          ['sources', ...bySource.map(label)],
          ...(
            [
              ['drain (events/s)', (r) => r.eventsPerSec],
              ['drain time (s)', (r) => r.drainSeconds],
              ['commit→ack p50 (ms)', (r) => r.p50Ms],
              ['commit→ack p99 (ms)', (r) => r.p99Ms],
              ['commit→ack max (ms)', (r) => r.maxMs],
              ['relay (process) CPU s / 10k', (r) => r.relayCpuSecPer10k],
              ["relay's PG backends CPU s / 10k", (r) => r.relayPgCpuSecPer10k],
              ['  of which walsender', (r) => r.walsenderCpuSecPer10k],
              ['PostgreSQL CPU s / 10k (server, not writers)', (r) => r.pgCpuSecPer10k],
              ['lost', (r) => r.lost],
              ['duplicates', (r) => r.duplicates],
            ] as [string, (r: SystemResult) => number | null][]
          ).map(([label, f]) => [label, ...bySource.map((r) => String(f(r) ?? '-'))]),
        ])}`
      : '';
  return `${table(rows)}${sourcesTable}${sweepTable(results, arrival)}\n\n${notes.join('\n')}`;
}

/** With several rates (--rate R1,R2,...): each system's latency at each, one row per system and rate. */
function sweepTable(results: SystemResult[], arrival: string): string {
  if (!results.some((r) => r.sweep.length > 1)) return '';
  const name = (r: SystemResult) =>
    r.system === 'herald'
      ? `herald ${r.source}${r.relays > 1 ? ` x${r.relays}` : ''}${r.metrics ? ' +metrics' : ''}`
      : r.system;
  const head = [
    'rate sweep',
    'offered/s',
    'achieved/s',
    'late writes',
    `${arrival} p50`,
    'p90',
    'p99',
    'max (ms)',
    'commit→read p50 / p99 (ms)',
    'writer tx p50 / p99 (ms)',
  ];
  const body = results.flatMap((r) =>
    r.sweep.map((x) =>
      [name(r), x.rate, x.achievedRate, x.lateWrites, x.p50Ms, x.p90Ms, x.p99Ms, x.maxMs]
        .map(String)
        .concat(`${x.readP50Ms ?? '-'} / ${x.readP99Ms ?? '-'}`, `${x.txP50Ms} / ${x.txP99Ms}`),
    ),
  );
  return `\n\n${table([head, ...body])}`;
}
