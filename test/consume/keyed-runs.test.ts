import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createKeyedRuns } from '../../src/consume/ordering.ts';

describe('createKeyedRuns: a key in order, its waiting items in runs', () => {
  it('runs what came while the last run was under way as the next run, up to max() asked at each run, tasks alone in their place', async () => {
    const runs: string[][] = [];
    let max = 3;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const keyed = createKeyedRuns<string>({
      max: () => max,
      run: async (items) => {
        runs.push(items);
        if (items[0] === 'a1') await gate; // the first run is under way while the rest arrive
        return [];
      },
      hold: async () => {},
    });
    keyed.add('a', 'a1');
    keyed.add('b', 'b1');
    await new Promise((resolve) => setImmediate(resolve));
    for (const item of ['a2', 'a3', 'a4', 'a5']) keyed.add('a', item);
    keyed.task('a', async () => {
      runs.push(['task']);
    });
    keyed.add('a', 'a6');
    keyed.add('a', 'a7');
    max = 2; // the group's size halved (a lock conflict) while a1 ran
    release();
    await keyed.idle();
    assert.deepEqual(
      runs.filter((r) => r[0]?.startsWith('a') || r[0] === 'task'),
      [['a1'], ['a2', 'a3'], ['a4', 'a5'], ['task'], ['a6', 'a7']],
    );
    assert.ok(
      runs.some((r) => r[0] === 'b1'),
      'the other key ran',
    );
  });

  it('holds what a run did not finish and runs it again first, before what came after', async () => {
    const runs: number[][] = [];
    const holds: number[] = [];
    let refusals = 2;
    const keyed = createKeyedRuns<number>({
      max: () => 10,
      run: async (items) => {
        runs.push(items);
        // Item 2 cannot finish twice: the rest of the run from it comes back.
        const at = items.indexOf(2);
        if (at >= 0 && refusals-- > 0) return items.slice(at);
        return [];
      },
      hold: async (_key, failures) => {
        holds.push(failures);
      },
    });
    for (const i of [1, 2, 3]) keyed.add('k', i);
    await keyed.idle();
    assert.deepEqual(runs, [
      [1, 2, 3],
      [2, 3],
      [2, 3],
    ]);
    assert.deepEqual(holds, [1, 2], 'backoff counts the failures in a row');
  });
});
