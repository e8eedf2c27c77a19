import { existsSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import type { ChaosResult } from './scenario.ts';

const reportPath = new URL('../docs/reliability.md', import.meta.url);
const notesPattern = /<!-- notes -->\n([\s\S]*?)<!-- \/notes -->/;

/** The hand-written notes of the current report, kept across runs. */
function keptNotes(): string {
  if (!existsSync(reportPath)) return '';
  return notesPattern.exec(readFileSync(reportPath, 'utf8'))?.[1] ?? '';
}

/** What follows the notes (the end-to-end section, the soak's), kept as it is. */
function keptTail(): string {
  if (!existsSync(reportPath)) return '';
  const file = readFileSync(reportPath, 'utf8');
  const end = file.indexOf('<!-- /notes -->\n');
  return end < 0 ? '' : file.slice(end + '<!-- /notes -->\n'.length);
}

/** When and where a run was made: "<date> UTC, on <n> cores (<cpu>), <n> GiB". */
export function machine(started: Date): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${started.toISOString().slice(0, 16).replace('T', ' ')} UTC, on ${cpus().length} cores (${cpu}), ${Math.round(totalmem() / 2 ** 30)} GiB`;
}

/** A row of a checks table. */
export const row = (what: string, value: string | number, meaning: string) => `| ${what} | ${value} | ${meaning} |`;

/** The table of a run's checks, from its rows. */
export const checksTable = (rows: string[]) => `| check | result | what it means |\n|---|---|---|\n${rows.join('\n')}`;

export function renderReport(r: ChaosResult, { command, started }: { command: string; started: Date }): string {
  const { failovers, examples, ...summary } = r;
  const json = JSON.stringify({ ...summary, ok: r.lost === 0 && r.orderViolations === 0, failovers });
  const failoverRows = failovers.map(
    (f, i) =>
      `| ${i + 1} | ${f.action === 'kill' ? 'SIGKILL' : `SIGSTOP ${(2 * r.leaseMs) / 1000} s`} | ${f.shards} | ${f.leasedSeconds} | ${f.publishedSeconds}${f.probeOnVictimShard ? '' : ' (probe not on a victim shard)'}${f.timedOut ? ' (timed out)' : ''} |`,
  );
  return `# Reliability: the chaos run

A bounded chaos run of the whole system: ${r.relays} \`herald relay\` processes share one schema
through shard leases while four writers commit events; meanwhile a relay is SIGKILLed again and
again (and restarted), one is paused with SIGSTOP for twice its lease, Kafka is restarted once and
PostgreSQL is restarted once. Then the run waits until every shard's cursor is past its last
row, reads the topic back with a plain Kafka consumer and checks every committed event.

The Kafka broker and the PostgreSQL cluster that are restarted are the run's own: a single-node
broker and a cluster started for it on free ports (\`infra/kafka.mjs\` \`privateKafka()\`,
\`infra/postgres.mjs\` \`privatePostgres()\`) and removed at its end. The shared services of
\`npm test\` (which may be the machine's own, not started by herald) are never stopped.

\`\`\`sh
${command}                 # this report (full size, 5 s leases)
npm run -s chaos -- --events 8000 --kills 2 --lease-ms 3000 --no-report   # the size test/reliability/chaos.test.ts runs
\`\`\`

Code: \`chaos/scenario.ts\` (the run), \`chaos/writers.ts\`, \`chaos/fleet.ts\` (relay processes),
\`chaos/probes.ts\` (failover measures), \`chaos/verify.ts\` (the checks). \`test/reliability/chaos.test.ts\`
runs the same scenario small in \`npm test\`.

## Last run

${machine(started)},
PostgreSQL, Kafka, the writers, the three relays and the reader all on the same machine.

\`\`\`json
${json}
\`\`\`

${checksTable([
  row(
    'events',
    r.events,
    `events the writers committed (plus ${r.probes} failover probes: ${r.committed} committed in all)`,
  ),
  row('**lost**', `**${r.lost}**`, 'committed events never seen in the topic; must be 0'),
  row(
    '**orderViolations**',
    `**${r.orderViolations}**`,
    'keys whose first copies arrived out of commit order; must be 0',
  ),
  row(
    'duplicates',
    r.duplicates,
    `extra copies in the topic (${r.duplicatedEvents} events published more than once); allowed: at-least-once`,
  ),
  row('phantoms', r.phantoms, 'ids in the topic that no committed transaction wrote; must be 0'),
  row('kills', r.kills, 'relays SIGKILLed (each restarted after its failover was measured)'),
  row('stops', r.stops, `relays paused with SIGSTOP for ${(2 * r.leaseMs) / 1000} s; fenced: ${r.stoppedRelayFenced}`),
  row('kafkaRestarts / pgRestarts', `${r.kafkaRestarts} / ${r.pgRestarts}`, 'broker and database restarted mid-stream'),
  row(
    'writerFailures',
    r.writerFailures,
    `writer transactions that failed (database restarting); ${r.ambiguousCommitted} of their events had committed anyway and count`,
  ),
  row('maxFailoverSeconds', r.maxFailoverSeconds, 'worst SIGKILL → a probe written to a dead relay shard is published'),
  row('maxLeaseFailoverSeconds', r.maxLeaseFailoverSeconds, 'worst SIGKILL → every shard leased to a live relay'),
  row('drainSeconds', r.drainSeconds, 'from the last write until the backlog was 0'),
  row('relayCrashes', r.relayCrashes.length, 'relays that exited without being killed'),
  row('seconds', r.seconds, 'the whole run, set-up and read-back included'),
])}

Failovers, in order (seconds from the signal):

| # | signal | shards held | all shards leased to others | probe published |
|---|---|---|---|---|
${failoverRows.join('\n')}
${examples.length > 0 ? `\nFirst problems found:\n\n${examples.map((e) => `- ${e}`).join('\n')}\n` : ''}
## How it checks

- **Writers** each own their keys (4 writers × 50 keys), so writes to a key are serialised, as the
  [ordering guarantee](relay.md#the-exact-ordering-guarantee) requires. A payload carries its key and a
  per-key counter \`n\`; 10 events per transaction. A transaction that fails while PostgreSQL
  restarts is not counted, and its numbers are never reused: if its COMMIT did go through (the
  answer was lost), its ids are found in the log afterwards and counted.
- **lost**: a committed id the reader never saw. **orderViolations**: per key, the *first* copy of
  each event must carry a larger \`n\` than the first copy before it (gaps are allowed, for the
  skipped numbers; going back is not). **duplicates**: records beyond the first copy of an event,
  the reader's own re-deliveries excluded (records are told apart by partition and offset).
- **Published** means every shard's cursor is at or past its last row (\`getStatus().backlog.events\`
  is 0); only then is the topic read, until every committed id has been seen.
- **Failover** is measured two ways after each SIGKILL: until the 64 shards are all leased to live
  relays, and until a probe event, written right after the kill with a key that hashes to one
  of the dead relay's shards, is published (its shard's cursor passes it). The second is what a
  consumer waits; \`maxFailoverSeconds\` is that one.

## Notes

<!-- notes -->
${keptNotes()}<!-- /notes -->
${keptTail()}`;
}
