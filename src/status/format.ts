import type { ConsumerGroupStatus } from './consumers.ts';
import type { HeraldStatus } from './status.ts';

/** Pending consumer dead letters, over every group: they count against `maxDeadLetters` too. */
export const pendingConsumerDeadLetters = (consumers: readonly ConsumerGroupStatus[]) =>
  consumers.reduce((n, c) => n + c.deadLetters.pending, 0);

/** `3.2 s`, `45 s`, `12 min`, `5 h`, `3 d`: precise where it matters, short where it does not. */
export function formatSeconds(seconds: number): string {
  const s = Math.max(0, seconds);
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} d`;
}

/** `512 B`, `3.4 MB`, `12.0 GB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = Math.max(0, bytes);
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** `1 event`, `5,000 events`. */
export function formatCount(n: number, noun: string): string {
  return `${n.toLocaleString('en-US')} ${noun}${n === 1 ? '' : 's'}`;
}

const num = (n: number) => n.toLocaleString('en-US');
const age = (s: number | null) => (s === null ? '-' : formatSeconds(s));
const time = (d: Date | null) => (d === null ? '-' : d.toISOString());

/** Right-aligns numeric columns, left-aligns the others; two spaces between columns. */
function table(header: string[], rows: string[][], right: boolean[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].map((l) => `  ${l}`);
}

const wholeAge = (s: { oldestAgeSeconds: number | null }) => Math.floor(s.oldestAgeSeconds ?? 0);

/** Shards listed by the human report; `--json` lists every shard. */
const shownShards = 16;

/** The compact report `herald status` prints. */
export function formatStatus(status: HeraldStatus): string {
  const { backlog, rates, deadLetters, openTransaction: tx } = status;
  const out: string[] = [];
  out.push(`schema "${status.schema}" at ${status.at.toISOString()}: ${status.healthy ? 'healthy' : 'UNHEALTHY'}`);
  for (const p of status.problems) out.push(`  ! ${p}`);
  out.push('');

  if (status.replication) {
    const r = status.replication;
    out.push(
      `replication slot  ${r.slot}: ${r.active ? 'streamed' : 'NOT STREAMED'}, keeps ${formatBytes(r.retainedBytes)} of WAL`,
    );
  }
  if (backlog.events === 0) {
    out.push('backlog           none: every committed event is published');
  } else {
    const held = backlog.heldBack > 0 ? `, ${num(backlog.heldBack)} held back` : '';
    out.push(
      `backlog           ${formatCount(backlog.events, 'event')} in ${backlog.shardsWithBacklog} of ${backlog.shards.length} shards${held}, oldest ${age(backlog.oldestAgeSeconds)}`,
    );
    // Worst first, so that the cut below keeps the shards that matter.
    const waiting = backlog.shards
      .filter((s) => s.events > 0)
      .sort((a, b) => wholeAge(b) - wholeAge(a) || b.events - a.events || a.shard - b.shard);
    out.push(
      ...table(
        ['shard', 'events', 'held back', 'oldest', 'cursor (xid/seq)', 'cursor moved'],
        waiting
          .slice(0, shownShards)
          .map((s) => [
            String(s.shard),
            num(s.events),
            num(s.heldBack),
            age(s.oldestAgeSeconds),
            `${s.cursor.xid}/${s.cursor.seq}`,
            time(s.cursor.updatedAt),
          ]),
        [true, true, true, true, false, false],
      ),
    );
    if (waiting.length > shownShards)
      out.push(`  … and ${waiting.length - shownShards} more shards (--json lists all)`);
  }

  if (status.relays.length === 0) out.push('relays            none has run on this schema');
  for (const r of status.relays) {
    const state = r.alive
      ? `heartbeat ${age(r.heartbeatAgeSeconds)} ago`
      : `gone (last heartbeat ${age(r.heartbeatAgeSeconds)} ago)`;
    out.push(`relay ${r.id}  ${r.shards.length} shards, ${state}`);
  }
  if (status.unheldShards.length > 0 && status.relays.some((r) => r.alive)) {
    out.push(`unheld shards     ${status.unheldShards.length} (being handed over, or no relay took them yet)`);
  }
  out.push(
    `rates             ${num(rates.writtenPerSecond)}/s written, ${num(rates.publishedPerSecond)}/s published (events created in the last ${rates.windowSeconds} s)`,
  );

  const consumerPending = pendingConsumerDeadLetters(status.consumers);
  if (deadLetters.pending === 0) {
    out.push(
      consumerPending === 0
        ? 'dead letters      none pending'
        : `dead letters      none pending from the relay; ${num(consumerPending)} from consumer groups (below)`,
    );
  } else {
    out.push(
      `dead letters      ${num(deadLetters.pending)} pending, oldest first failed ${age(deadLetters.oldestAgeSeconds)} ago`,
    );
    out.push(
      ...table(
        ['count', 'type', 'error'],
        deadLetters.top.map((g) => [num(g.count), g.type, g.errorCode]),
        [true, false, false],
      ),
    );
  }

  if (tx === null) {
    out.push(
      backlog.heldBack > 0
        ? `open transaction  xid ${backlog.snapshotXmin} holds back ${formatCount(backlog.heldBack, 'event')} but no session shows it (ended, prepared, or no pg_read_all_stats)`
        : 'open transaction  none holding back publishing',
    );
  } else {
    const holds = tx.heldBack > 0 ? `holds back ${formatCount(tx.heldBack, 'event')}` : 'holds back nothing yet';
    out.push(`open transaction  pid ${tx.pid}, open ${age(tx.ageSeconds)}, ${holds}`);
    out.push(
      `  xid ${tx.xid}, database ${tx.database ?? '-'}, user ${tx.user ?? '-'}, application ${tx.applicationName ?? '-'}, ${tx.state ?? 'state unknown'}`,
    );
    out.push(`  transaction started ${time(tx.transactionStart)}, last query started ${time(tx.queryStart)}`);
    if (tx.query !== null) out.push(`  query: ${tx.query.replace(/\s+/g, ' ').trim()}`);
  }
  out.push(...formatConsumers(status.consumers));
  return `${out.join('\n')}\n`;
}

/** Partitions listed by the human report, the furthest behind first; `--json` lists every one. */
const shownPartitions = 16;

/** One line per consumer group, then the partitions that are behind. */
function formatConsumers(consumers: ConsumerGroupStatus[]): string[] {
  if (consumers.length === 0) return ['consumers         none has stored its lag or a dead letter'];
  const lag = consumers.reduce((n, c) => n + (c.lag ?? 0), 0);
  const pending = pendingConsumerDeadLetters(consumers);
  const out = [
    `consumers         ${formatCount(consumers.length, 'group')}, ${formatCount(lag, 'message')} behind, ${formatCount(pending, 'dead letter')} pending`,
  ];
  const letters = (c: ConsumerGroupStatus) => {
    const { pending: p, retrying: r } = c.deadLetters;
    const parts = [...(p > 0 ? [`${num(p)} pending`] : []), ...(r > 0 ? [`${num(r)} retrying`] : [])];
    return parts.length > 0 ? parts.join(', ') : 'none';
  };
  out.push(
    ...table(
      ['group', 'lag', 'measured', 'dead letters'],
      consumers.map((c) => [
        c.group,
        c.lag === null ? '-' : num(c.lag),
        c.measuredAgeSeconds === null ? 'never' : `${age(c.measuredAgeSeconds)} ago`,
        letters(c),
      ]),
      [false, true, true, false],
    ),
  );
  const behind = consumers
    .flatMap((c) => c.partitions.filter((p) => p.lag > 0).map((p) => ({ group: c.group, ...p })))
    .sort((a, b) => b.lag - a.lag);
  if (behind.length === 0) return out;
  out.push(
    ...table(
      ['group', 'topic', 'partition', 'committed', 'end', 'lag'],
      behind
        .slice(0, shownPartitions)
        .map((p) => [p.group, p.topic, String(p.partition), p.committed ?? '-', p.end ?? '-', num(p.lag)]),
      [false, false, true, true, true, true],
    ),
  );
  if (behind.length > shownPartitions)
    out.push(`  … and ${behind.length - shownPartitions} more partitions behind (--json lists all)`);
  return out;
}
