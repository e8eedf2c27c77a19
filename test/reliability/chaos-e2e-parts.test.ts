import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crashSummary } from '../../chaos/consumers.ts';
import type { EndToEndResult } from '../../chaos/e2e.ts';
import { keptRuns, placeSection } from '../../chaos/e2e-report.ts';
import { stallTracker } from '../../chaos/e2e-samples.ts';

// The pieces of the end-to-end chaos run that need no services: its stall measure and where its
// section goes in docs/reliability.md.
describe('chaos end to end, its parts', () => {
  it('a stall is the time the applied count stood still while events waited', () => {
    const stalls = stallTracker();
    const samples = [
      { at: 0, written: 0, applied: 0 },
      { at: 1, written: 100, applied: 50 },
      { at: 2, written: 200, applied: 50 }, // stands still from 1 s
      { at: 3, written: 300, applied: undefined }, // database restarting: unknown
      { at: 4, written: 300, applied: 50 }, // 3 s now
      { at: 5, written: 300, applied: 300 },
      { at: 9, written: 300, applied: 300 }, // nothing waits: no stall
    ];
    for (const s of samples) stalls.add({ ...s, duplicates: 0 });
    assert.equal(stalls.max(), 3);
  });

  it('the section replaces its old self, or goes after the relay-only notes, leaving the rest as it is', () => {
    const file = '# Reliability\n<!-- notes -->\nmine\n<!-- /notes -->\n\n## The soak\nsoak\n';
    const once = placeSection(file, '<!-- e2e -->\nfirst\n<!-- /e2e -->\n');
    assert.equal(
      once,
      '# Reliability\n<!-- notes -->\nmine\n<!-- /notes -->\n\n<!-- e2e -->\nfirst\n<!-- /e2e -->\n\n## The soak\nsoak\n',
    );
    const twice = placeSection(once, '<!-- e2e -->\nsecond $& $1\n<!-- /e2e -->\n');
    assert.equal(
      twice,
      once.replace('first', () => 'second $& $1'),
    );
  });

  it('full-size runs are kept from one report to the next; a small run adds no row', () => {
    const run = (events: number, lost: number) =>
      ({
        events,
        committed: events,
        lost,
        appliedTwice: 0,
        orderViolations: 0,
        duplicates: 7,
        kills: 88,
        maxStallSeconds: 24.1,
        relayCrashes: [],
        consumerCrashes: ['consumer 1 exited'],
        seconds: 2600,
        drainSeconds: 100,
      }) as unknown as EndToEndResult;
    assert.equal(keptRuns('', run(10_000, 0), new Date()), 'None yet.\n');
    const first = keptRuns('None yet.\n', run(1_000_000, 0), new Date('2026-12-05T00:59:30Z'));
    assert.match(
      first,
      /\| 2026-12-05 00:59 \| 1000000 \| 0 \| 0 \| 0 \| 7 \| 88 \| 24\.1 s \| 400 \| 1 \| 43 \| PASS \|\n$/,
    );
    const second = keptRuns(first, run(1_000_000, 3), new Date('2026-12-05T04:00:00Z'));
    const rows = second.split('\n').filter((l) => l.startsWith('| 2'));
    assert.equal(rows.length, 2);
    assert.match(rows[0] as string, /^\| 2026-12-05 00:59 .*PASS \|$/);
    assert.match(rows[1] as string, /^\| 2026-12-05 04:00 \| 1000000 \| 3 .*FAIL \|$/);
    assert.equal(keptRuns(second, run(10_000, 0), new Date()), second);
  });

  it("a crash is summed up by its error, its first frames and where an unheard 'error' event came from", () => {
    const stderr = [
      'node:events:497',
      "      throw er; // Unhandled 'error' event",
      '',
      'error: terminating connection due to administrator command',
      '    at Parser.parseErrorMessage (parser.js:285:98)',
      '    at Parser.handlePacket (parser.js:122:29)',
      '    at Parser.parse (parser.js:35:38)',
      '    at Socket.<anonymous> (index.js:11:42)',
      '    at Socket.emit (node:events:507:28)',
      "Emitted 'error' event on Client instance at:",
      '    at Client._handleErrorEvent (client.js:350:10)',
      '',
    ].join('\n');
    assert.equal(
      crashSummary(stderr),
      "error: terminating connection due to administrator command | at Parser.parseErrorMessage (parser.js:285:98) | at Parser.handlePacket (parser.js:122:29) | at Parser.parse (parser.js:35:38) | at Socket.<anonymous> (index.js:11:42) | Emitted 'error' event on Client instance at: | at Client._handleErrorEvent (client.js:350:10)",
    );
    assert.equal(crashSummary('no error here'), 'no error here');
  });
});
