// `herald replay`, the command: its flags, its summary and its dry run, on the log of
// test/support/replay-log.ts (replayEvents itself: test/replay/replay.test.ts).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { ReplayResult } from '../../src/index.ts';
import { brokers, databaseUrl } from '../support/env.ts';
import { createTopic, readTopic } from '../support/kafka.ts';
import { assertReplayed, replayLog } from '../support/replay-log.ts';

const run = promisify(execFile);

describe('herald replay (the CLI)', () => {
  const log = replayLog();
  const { from, to, inWindow } = log;
  const env = () => ({
    ...process.env,
    DATABASE_URL: databaseUrl,
    KAFKA_BROKERS: brokers.join(','),
    HERALD_SCHEMA: log.db.schema,
  });
  const herald = (args: string[], extraEnv: Record<string, string | undefined> = {}) =>
    run(process.execPath, ['src/cli/main.ts', 'replay', ...args], { env: { ...env(), ...extraEnv } });

  it('--json prints one JSON line summary and publishes the slice', async () => {
    const topic = await createTopic(3, 'herald-replay-cli');
    const types = ['shop.order.placed', 'shop.order.paid'];
    const expected = inWindow().filter((e) => types.includes(e.type) && ['k1', 'k2'].includes(e.key));
    const { stdout, stderr } = await herald([
      '--from',
      '3h',
      '--to',
      to.toISOString(),
      '--type',
      types.join(','),
      '--key',
      'k1',
      '--key',
      'k2',
      '--destination',
      topic,
      '--page-size',
      '10',
      '--json',
    ]);
    assert.equal(stderr, '', 'no progress bar when stderr is not a terminal');
    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    const summary = JSON.parse(lines[0] as string) as ReplayResult & { from: string; to: string };
    assert.equal(summary.matched, expected.length);
    assert.equal(summary.published, expected.length);
    assert.equal(summary.dryRun, false);
    assert.equal(summary.to, to.toISOString());
    assert.deepEqual(summary.byDestination, { [topic]: expected.length });
    assert.equal(typeof summary.seconds, 'number');
    assert.equal(typeof summary.eventsPerSecond, 'number');
    const messages = await readTopic(topic, expected.length, { settleMs: 1000 });
    assertReplayed(messages, expected, summary.replayId);
  });

  it('--dry-run needs no brokers and prints what would be published', async () => {
    const { stdout } = await herald(['--from', from.toISOString(), '--to', to.toISOString(), '--dry-run'], {
      KAFKA_BROKERS: undefined,
    });
    assert.match(stdout, new RegExp(`^dry run: would publish ${inWindow().length} events`));
    assert.match(stdout, /by type:\n {4}shop\.order\.paid +\d+/);
    assert.match(stdout, /by destination:\n/);
    const paid = inWindow().filter((e) => e.type === 'shop.order.paid').length;
    const backfill = await herald(
      ['--from', from.toISOString(), '--to', to.toISOString(), '--dry-run', '--aggregate-type', 'payment'],
      { KAFKA_BROKERS: undefined },
    );
    assert.match(backfill.stdout, new RegExp(`^dry run: would publish ${paid} events`));
    assert.match(stdout, new RegExp(`first ${inWindow()[0]?.time.toISOString()}`));
  });

  it('a bad --from, or --from after --to, exits 2 naming the flag', async () => {
    for (const args of [['--from', 'yesterday'], ['--from', '2025-02-30'], ['--from', '1h', '--to', '2h'], []]) {
      await assert.rejects(herald(args), (error: { code?: number; stderr?: string }) => {
        assert.equal(error.code, 2, `${args.join(' ')}: ${error.stderr}`);
        assert.match(error.stderr ?? '', /HERALD_INVALID_CONFIG: --from/);
        return true;
      });
    }
    await assert.rejects(herald(['--from', '2h', '--to', 'soon']), /--to: "soon"/);
  });
});
