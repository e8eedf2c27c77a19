// `npm run chaos -- --end-to-end [--events 1000000] [--rate 1000] [--lease-ms 3000]
// [--session-ms 6000] [--json] [--report]`, called by chaos/main.ts: the run of chaos/e2e.ts, its
// figures on stderr, with --json one line of them last on stdout, with --report docs/chaos-e2e.svg,
// docs/chaos-e2e.json and its section of docs/reliability.md.
import { runEndToEnd } from './e2e.ts';
import { kept, writeE2eReport } from './e2e-report.ts';

export interface EndToEndCli {
  events: number;
  rate: number;
  leaseMs: number;
  sessionMs: number;
  json: boolean;
  report: boolean;
  command: string;
}

export async function endToEndCli(o: EndToEndCli): Promise<number> {
  const started = new Date();
  const log = (line: string) => console.error(`[chaos e2e ${new Date().toISOString().slice(11, 19)}] ${line}`);
  const result = await runEndToEnd({ ...o, log }).catch((error: Error & { unavailable?: boolean }) => {
    // The cluster and the database are the run's own; none could be started here.
    if (!error.unavailable) throw error;
    log(`cannot run: ${error.message}`);
    return undefined;
  });
  if (!result) return 2;
  if (!result.netCut) log(`the net cut was SKIPPED: ${result.netCutReason}`);
  if (o.report) {
    writeE2eReport(result, { command: o.command, started });
    log('wrote docs/chaos-e2e.svg, docs/chaos-e2e.json and its section of docs/reliability.md');
  }
  const ok = kept(result);
  const { samples, faults, examples, ...summary } = result;
  for (const f of faults) log(`  ${f.from}-${f.to} s: ${f.what}`);
  if (o.json) console.log(JSON.stringify({ ...summary, ok }));
  else console.error(JSON.stringify(summary, null, 2));
  log(ok ? 'PASS: nothing lost, nothing applied twice, per-key order kept' : `FAIL: ${examples.join('; ')}`);
  return ok ? 0 : 1;
}
