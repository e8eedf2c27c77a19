// Whether a soak passed: after the warm-up, memory grows no more than 10 % above where it settled,
// open handles stay within 10 %, the commit→handled p99 does not drift (the last third against the
// first), and the consumer's table holds every event once. With a broker outage, memory is judged
// in two phases, in each of which it must not grow more than 10 %: up to the end of the outage (the
// backlog grows, memory must not), and once the backlog has drained (a catch-up leaves the heap
// and the allocator at a new level, which must then hold); the rise between them is reported.
// Memory is judged on growth only: a leak grows, while RSS also falls on an idle process (V8
// giving heap back, the kernel dropping file-backed pages such as the node binary's); the deepest
// fall is reported. Handles and p99 leave out the outage and the catch-up.
import type { SoakResult, SoakSample } from './run.ts';

export interface SoakVerdict {
  pass: boolean;
  reasons: string[];
  /** The larger growth of the phases (one without an outage) above each phase's first sample. */
  rssGrowthPct: number;
  /** The deepest fall below a phase's first sample, reported and not judged. */
  rssFallPct: number;
  /** With an outage: the median RSS after the catch-up over the one up to the outage's end. */
  catchUpRssRisePct: number | null;
  handlesSpreadPct: number;
  p99FirstMs: number | null;
  p99LastMs: number | null;
}

/** `by` as a percentage of the first value, to one decimal. */
const pctOfFirst = (values: number[], by: number) => {
  const base = values[0] ?? 0;
  return base === 0 ? 0 : Math.round((by / base) * 1000) / 10;
};
const spreadPct = (v: number[]) => pctOfFirst(v, Math.max(...v) - Math.min(...v));
const growthPct = (v: number[]) => pctOfFirst(v, Math.max(0, Math.max(...v) - (v[0] ?? 0)));
const fallPct = (v: number[]) => pctOfFirst(v, Math.max(0, (v[0] ?? 0) - Math.min(...v)));
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? null : (sorted[Math.floor(sorted.length / 2)] as number);
};

export function judge(result: SoakResult, warmupSamples: number): SoakVerdict {
  const reasons: string[] = [];
  const outage = result.outage;
  const settled = result.samples.slice(warmupSamples, -1); // the last is after the writers stopped
  // The outage and the catch-up after it are not steady state: from the broker's stop until the
  // backlog is back to what it was before (its largest, doubled, plus 100 events).
  const before = settled.filter((s) => outage && s.at < outage.from).map((s) => s.backlog);
  const normal = Math.max(0, ...before) * 2 + 100;
  const caughtUp = outage
    ? (result.samples.find((s) => s.at > outage.to && s.backlog <= normal)?.at ?? Number.POSITIVE_INFINITY)
    : 0;
  const steady = (s: SoakSample) => !outage || s.at < outage.from || s.at >= caughtUp;
  const phases = outage
    ? [settled.filter((s) => s.at <= outage.to), settled.filter((s) => s.at >= caughtUp)]
    : [settled];
  const rss = phases.map((p) => p.map((s) => s.rssMb));
  const rssGrowth = Math.max(...rss.map(growthPct));
  const [upTo, after] = phases.map((p) => median(p.map((s) => s.rssMb)));
  const catchUpRssRisePct = outage && upTo && after ? Math.round(((after - upTo) / upTo) * 1000) / 10 : null;
  if (outage && caughtUp === Number.POSITIVE_INFINITY)
    reasons.push('the backlog had not drained by the end: run longer');
  else if (outage && (phases[1] as SoakSample[]).length < 3)
    reasons.push('fewer than 3 samples after the catch-up: run longer');
  // While the broker is down, and while the clients reconnect, fewer connections is right.
  const handlesSpread = spreadPct(settled.filter(steady).map((s) => s.handles));
  if (rssGrowth > 10) reasons.push(`memory grew ${rssGrowth} % after the warm-up`);
  if (handlesSpread > 10) reasons.push(`open handles moved ${handlesSpread} % after the warm-up`);
  const p99s = settled.filter(steady).flatMap((s) => (s.p99Ms === null ? [] : [s.p99Ms]));
  const third = Math.max(1, Math.floor(p99s.length / 3));
  const first = median(p99s.slice(0, third));
  const last = median(p99s.slice(-third));
  if (first !== null && last !== null && last > first * 1.5 + 10) {
    reasons.push(`p99 drifted from ${first} ms to ${last} ms`);
  }
  if (result.lost > 0) reasons.push(`${result.lost} events lost`);
  if (result.appliedTwice > 0) reasons.push(`${result.appliedTwice} events applied twice`);
  if (settled.length < 3) reasons.push('fewer than 3 samples after the warm-up: run longer');
  return {
    pass: reasons.length === 0,
    reasons,
    rssGrowthPct: rssGrowth,
    rssFallPct: Math.max(...rss.map(fallPct)),
    catchUpRssRisePct,
    handlesSpreadPct: handlesSpread,
    p99FirstMs: first,
    p99LastMs: last,
  };
}
