import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTime } from '../../src/config/time.ts';
import { isHeraldError } from '../../src/errors.ts';
import { createProgress } from '../../src/replay/progress.ts';

describe('replay progress', () => {
  it('draws a bar in place on a terminal, and clears it before the summary', () => {
    const out: string[] = [];
    let t = 0;
    const progress = createProgress({ isTTY: true, columns: 80, write: (s) => out.push(s) }, { now: () => t });
    progress.update(0, 200);
    t = 50;
    progress.update(50, 200); // within 100 ms of the last frame: skipped
    t = 1000;
    progress.update(100, 200);
    t = 1010;
    progress.update(200, 200); // the last frame is always drawn
    progress.finish();
    assert.equal(out.length, 4);
    assert.match(out[1] as string, /^\r\x1b\[2Kreplay \[#+-+\] {2}50% 100\/200 100\/s$/);
    assert.match(out[2] as string, /\[#+\] 100% 200\/200/);
    assert.equal(out[3], '\r\x1b[2K');
  });

  it('elsewhere writes a plain line now and then, or nothing for a short replay', () => {
    const out: string[] = [];
    let t = 0;
    const progress = createProgress({ write: (s) => out.push(s) }, { now: () => t, plainEveryMs: 10_000 });
    progress.update(0, 1000);
    t = 5000;
    progress.update(100, 1000);
    assert.deepEqual(out, []);
    t = 10_000;
    progress.update(400, 1000);
    t = 12_000;
    progress.update(1000, 1000);
    progress.finish();
    assert.deepEqual(out, ['replay: 400/1000 events (40%), 40/s\n']);
  });
});

describe('replay times', () => {
  const now = new Date('2025-06-10T12:00:00.000Z');
  const at = (raw: string) => parseTime(raw, '--from', now).toISOString();

  it('reads ISO 8601 (UTC without an offset), now, and durations before now', () => {
    assert.equal(at('2025-06-01'), '2025-06-01T00:00:00.000Z');
    assert.equal(at('2025-06-01T08:30'), '2025-06-01T08:30:00.000Z');
    assert.equal(at('2025-06-01 08:30:15.25'), '2025-06-01T08:30:15.250Z');
    assert.equal(at('2025-06-01T08:30:00Z'), '2025-06-01T08:30:00.000Z');
    assert.equal(at('2025-06-01T08:30:00+02:00'), '2025-06-01T06:30:00.000Z');
    assert.equal(at('2025-06-01T08:30:00-0130'), '2025-06-01T10:00:00.000Z');
    assert.equal(at('now'), '2025-06-10T12:00:00.000Z');
    assert.equal(at('30m'), '2025-06-10T11:30:00.000Z');
    assert.equal(at('2h'), '2025-06-10T10:00:00.000Z');
    assert.equal(at('7d'), '2025-06-03T12:00:00.000Z');
    assert.equal(at('1w'), '2025-06-03T12:00:00.000Z');
    assert.equal(at('1h30m'), '2025-06-10T10:30:00.000Z');
    assert.equal(at('90s'), '2025-06-10T11:58:30.000Z');
  });

  it('rejects anything else with HERALD_INVALID_CONFIG naming the flag', () => {
    for (const raw of ['', 'yesterday', '2h ago', '-2h', '2', '2025-13-01', '2025-02-30', '2025-06-01T25:00', '1.5h']) {
      assert.throws(
        () => parseTime(raw, '--to', now),
        (error: unknown) =>
          isHeraldError(error, 'HERALD_INVALID_CONFIG') &&
          error.details.setting === '--to' &&
          error.message.startsWith('--to: '),
        raw,
      );
    }
  });
});
