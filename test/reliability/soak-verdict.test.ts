import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SoakResult, SoakSample } from '../../soak/run.ts';
import { judge } from '../../soak/verdict.ts';

// The soak's verdict (soak/verdict.ts) on samples made up here: what counts as steady state
// around a broker outage, and what fails the run.
const sample = (at: number, o: Partial<SoakSample> = {}): SoakSample => ({
  at,
  rssMb: 300,
  rssAnonMb: 200,
  heapMb: 80,
  heapTotalMb: 120,
  externalMb: 20,
  handles: 15,
  dbConnections: 12,
  written: at * 1000,
  published: at * 1000,
  handled: at * 1000,
  backlog: 5,
  p50Ms: 5,
  p99Ms: 20,
  outage: false,
  ...o,
});

/** Minute samples; the broker down from 300 s to 480 s, the backlog drained by 600 s. */
const withOutage = (edit: (s: SoakSample) => SoakSample = (s) => s): SoakResult => {
  const samples = Array.from({ length: 16 }, (_, i) => {
    const at = (i + 1) * 60;
    const down = at > 300 && at <= 480;
    const catchingUp = at > 480 && at < 600;
    return edit(
      sample(at, {
        outage: down,
        handles: down ? 5 : catchingUp ? 8 : 15,
        backlog: down ? (at - 300) * 1000 : catchingUp ? 90_000 : 5,
        p99Ms: down ? null : catchingUp ? 120_000 : 20,
      }),
    );
  });
  return {
    samples,
    written: 960_000,
    handled: 960_000,
    lost: 0,
    appliedTwice: 0,
    writeFailures: 0,
    outage: { from: 300, to: 480 },
  };
};

describe('the soak verdict', () => {
  it('passes a run whose handles and latency move only during the outage and the catch-up', () => {
    const v = judge(withOutage(), 2);
    assert.deepEqual(v.reasons, []);
    assert.equal(v.pass, true);
    assert.equal(v.p99LastMs, 20);
  });

  it("judges memory up to the outage's end and after the catch-up: growth within either fails, the step between them is reported", () => {
    const stepped = judge(
      withOutage((s) => (s.at >= 540 ? { ...s, rssMb: 390 } : s)),
      2,
    );
    assert.deepEqual(stepped.reasons, []);
    assert.equal(stepped.catchUpRssRisePct, 30);
    const duringOutage = judge(
      withOutage((s) => (s.outage ? { ...s, rssMb: 300 + (s.at - 300) } : s)),
      2,
    );
    assert.match(duringOutage.reasons.join(), /memory grew 60 %/);
    const afterCatchUp = judge(
      withOutage((s) => (s.at >= 600 ? { ...s, rssMb: 300 + (s.at - 600) / 2 } : s)),
      2,
    );
    assert.match(afterCatchUp.reasons.join(), /memory grew 50 %/);
  });

  it('reports a fall in memory without failing it, and still fails growth back above where it settled', () => {
    // The 2026-12-05 outage run: RSS 355 MB, then 190 MB two minutes before the broker came back.
    const fell = judge(
      withOutage((s) => (s.at === 420 ? { ...s, rssMb: 160 } : s.at === 480 ? { ...s, rssMb: 250 } : s)),
      2,
    );
    assert.deepEqual(fell.reasons, []);
    assert.equal(fell.rssFallPct, 46.7);
    assert.equal(fell.rssGrowthPct, 0);
    const regrew = judge(
      withOutage((s) => (s.at === 420 ? { ...s, rssMb: 160 } : s.at === 480 ? { ...s, rssMb: 340 } : s)),
      2,
    );
    assert.match(regrew.reasons.join(), /memory grew 13.3 %/);
  });

  it('fails handles that move once the backlog is drained, and a p99 that drifts', () => {
    const v = judge(
      withOutage((s) => (s.at >= 660 ? { ...s, handles: 25, p99Ms: 90 } : s)),
      2,
    );
    assert.equal(v.pass, false);
    assert.match(v.reasons.join(), /open handles moved/);
    assert.match(v.reasons.join(), /p99 drifted from 20 ms to 90 ms/);
  });

  it('never ends the catch-up while the backlog stays high, and fails lost or doubled events', () => {
    const v = judge(
      {
        ...withOutage((s) => (s.at > 480 ? { ...s, backlog: 50_000, handles: 8 } : s)),
        lost: 3,
        appliedTwice: 1,
      },
      2,
    );
    assert.ok(!v.reasons.some((r) => r.includes('handles')), v.reasons.join());
    assert.ok(v.reasons.includes('the backlog had not drained by the end: run longer'), v.reasons.join());
    assert.deepEqual(
      v.reasons.filter((r) => r.includes('events')),
      ['3 events lost', '1 events applied twice'],
    );
  });
});
