// `--end-to-end --report`: docs/chaos-e2e.svg (the timeline), docs/chaos-e2e.json (the figures and
// samples) and the section "End to end through a Kafka cluster" of docs/reliability.md, between
// <!-- e2e --> and <!-- /e2e -->; the rest of the file is left as it is (the relay-only report,
// chaos/report.ts, keeps everything after its notes, where this section goes).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { EndToEndResult } from './e2e.ts';
import { timelineSvg } from './e2e-plot.ts';
import { checksTable, machine, row } from './report.ts';

const docs = (file: string) => new URL(`../docs/${file}`, import.meta.url);
const section = /<!-- e2e -->\n[\s\S]*?<!-- \/e2e -->\n/;
const notesEnd = '<!-- /notes -->\n';

/** Puts `text` (the whole section, markers included) in place of the old one, or after the notes. */
export function placeSection(file: string, text: string): string {
  if (section.test(file)) return file.replace(section, () => text);
  const at = file.indexOf(notesEnd);
  if (at < 0) return `${file.trimEnd()}\n\n${text}`;
  const cut = at + notesEnd.length;
  return `${file.slice(0, cut)}\n${text}${file.slice(cut)}`;
}

const notesPattern = /<!-- e2e-notes -->\n([\s\S]*?)<!-- \/e2e-notes -->/;
/** Runs of at least this many events are kept in the table of runs. */
const fullSize = 1_000_000;
const writeRate = (r: EndToEndResult) => Math.round(r.committed / Math.max(1, r.seconds - r.drainSeconds));
const noRuns = 'None yet.\n';
/** The run's promises: nothing lost, nothing applied twice, per-key order kept. */
export const kept = (r: EndToEndResult) => r.lost === 0 && r.appliedTwice === 0 && r.orderViolations === 0;
const runsPattern = /<!-- e2e-runs -->\n([\s\S]*?)<!-- \/e2e-runs -->/;
const runsHeader =
  '| started (UTC) | events | lost | applied twice | order violations | duplicates | kills | longest stall | writes/s reached | crashes | minutes | verdict |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n';

/** The rows of the full-size runs kept in the file, and this run's row after them when it is one. */
export function keptRuns(old: string, r: EndToEndResult, started: Date): string {
  const rows = old.split('\n').filter((l) => l.startsWith('| 2'));
  if (r.events >= fullSize) {
    rows.push(
      `| ${started.toISOString().slice(0, 16).replace('T', ' ')} | ${r.committed} | ${r.lost} | ${r.appliedTwice} | ${r.orderViolations} | ${r.duplicates} | ${r.kills} | ${r.maxStallSeconds} s | ${writeRate(r)} | ${r.relayCrashes.length + r.consumerCrashes.length} | ${Math.round(r.seconds / 60)} | ${kept(r) ? 'PASS' : 'FAIL'} |`,
    );
  }
  return rows.length === 0 ? noRuns : `${runsHeader}${rows.join('\n')}\n`;
}

export function renderE2eSection(
  r: EndToEndResult,
  { command, started, notes = '', runs = noRuns }: { command: string; started: Date; notes?: string; runs?: string },
): string {
  const { samples, faults, examples, ...summary } = r;
  const ok = kept(r);
  const crashed = [...r.relayCrashes, ...r.consumerCrashes];
  return `<!-- e2e -->
## End to end through a Kafka cluster

Writers commit one event per transaction through \`outbox.add\` at a steady ${r.rate} events/s asked (${writeRate(r)} a second reached over the run, faults and start-up included); three
\`herald relay\` processes (${r.leaseMs / 1000} s leases) publish with acks=all to a three-node Kafka
cluster in KRaft mode (each node broker and controller, replication 3, \`min.insync.replicas=2\`,
6 partitions; \`infra/kafka-cluster.mjs\`); three consumer processes of one group
(\`chaos/consumer-process.ts\`, ${r.sessionMs / 1000} s session timeout) apply every event through the inbox:
the handler inserts the event into a table and, in the same transaction, compares its per-key
\`n\` with the last one applied for that key. Meanwhile, round after round: a relay, a consumer
and the broker leading a partition SIGKILLed and restarted, a relay SIGSTOPped past its lease, a
consumer past its session timeout, PostgreSQL restarted, and a relay cut off from the brokers and
the database past its lease (its end of a veth pair set down, in a network namespace of the run's
own${r.netCut ? '' : `; **skipped in this run: ${r.netCutReason}**`}). The cluster and the database are the run's own, on free ports.

\`\`\`sh
${command}   # this section
npm test -- test/reliability/chaos-e2e.test.ts   # the same, small (10,000 events at 150/s, one round of faults)
\`\`\`

Every run of a million events or more, kept from one report to the next (the picture and the
table below are the last run's):

<!-- e2e-runs -->
${runs}<!-- /e2e-runs -->

${r.events < fullSize ? `**A small run.** The issue's run, a million events, is \`npm run -s chaos -- --end-to-end --events 1000000 --json --report\` (about 17 minutes of writing at 1,000 events/s, a round of faults every minute or so).\n\n` : ''}Last run: ${machine(started)};
everything on this one machine. **${ok ? 'PASS' : 'FAIL'}**.

![events per second committed and applied, faults shaded](chaos-e2e.svg)

${checksTable([
  row(
    'events',
    r.events,
    `asked for; ${r.committed} committed (${r.ambiguousCommitted} of them found in the log after a failed COMMIT)`,
  ),
  row('**lost**', `**${r.lost}**`, 'committed events no consumer applied; must be 0'),
  row('**appliedTwice**', `**${r.appliedTwice}**`, 'applications beyond the first of an event; must be 0'),
  row('**orderViolations**', `**${r.orderViolations}**`, 'events applied after a larger `n` of their key; must be 0'),
  row('duplicates', r.duplicates, `deliveries the inboxes absorbed, over ${r.consumerProcesses} consumer processes`),
  row(
    'kills',
    r.kills,
    `SIGKILLs: ${r.relayKills} relays, ${r.consumerKills} consumers, ${r.brokerKills} brokers (each restarted)`,
  ),
  row(
    'stops',
    `${r.relayStops} / ${r.consumerStops}`,
    `relays / consumers SIGSTOPped; ${r.stoppedRelaysFenced} paused relays logged their lost leases`,
  ),
  row(
    'netCuts',
    r.netCut ? r.netCuts : 'skipped',
    r.netCut ? `${r.cutRelaysFenced} cut-off relays logged their lost leases` : (r.netCutReason ?? ''),
  ),
  row('pgRestarts', r.pgRestarts, `${r.writerFailures} writer transactions failed meanwhile`),
  row('maxStallSeconds', r.maxStallSeconds, 'longest time the applied count did not grow while events waited'),
  row('drainSeconds', r.drainSeconds, 'from the last write until every event was applied'),
  row('crashes', r.relayCrashes.length + r.consumerCrashes.length, 'processes that exited without being killed'),
  row('seconds', r.seconds, 'the whole run'),
])}
${examples.length > 0 ? `\nFirst problems found:\n\n${examples.map((e) => `- ${e}`).join('\n')}\n` : ''}${crashed.length > 0 ? `\nProcesses that exited on their own (a consumer is started again in its slot):\n\n${crashed.map((e) => `- ${e}`).join('\n')}\n` : ''}
The figures and the samples: [chaos-e2e.json](chaos-e2e.json).

\`\`\`json
${JSON.stringify({ ...summary, ok })}
\`\`\`

### What the runs found

<!-- e2e-notes -->
${notes}<!-- /e2e-notes -->
<!-- /e2e -->
`;
}

/** Writes the picture, the samples and the section. */
export function writeE2eReport(r: EndToEndResult, meta: { command: string; started: Date }): void {
  const title = `${r.committed} events end to end, ${r.kills} kills: lost ${r.lost}, applied twice ${r.appliedTwice}, order violations ${r.orderViolations}`;
  writeFileSync(docs('chaos-e2e.svg'), timelineSvg(r.samples, r.faults, title));
  writeFileSync(
    docs('chaos-e2e.json'),
    `${JSON.stringify({ command: meta.command, started: meta.started, ...r }, null, 1)}\n`,
  );
  const path = docs('reliability.md');
  const file = existsSync(path) ? readFileSync(path, 'utf8') : '# Reliability\n';
  const notes = notesPattern.exec(file)?.[1] ?? '';
  const runs = keptRuns(runsPattern.exec(file)?.[1] ?? '', r, meta.started);
  writeFileSync(path, placeSection(file, renderE2eSection(r, { ...meta, notes, runs })));
}
