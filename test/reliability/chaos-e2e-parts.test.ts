import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { placeSection } from '../../chaos/e2e-report.ts';
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
});
