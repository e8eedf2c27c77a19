import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { databaseUrl, uniqueName } from '../support/env.ts';
import {
  insertConsumerDeadLetterRow,
  insertDeadLetter,
  recordConsumerLag,
  schemasForFile,
  writeEvents,
} from '../support/status.ts';

const run = promisify(execFile);
const schemaForTest = schemasForFile();

describe('herald status', () => {
  const cli = (schema: string, args: string[], url = databaseUrl) =>
    run(process.execPath, ['src/cli/main.ts', 'status', ...args], {
      env: { ...process.env, DATABASE_URL: url, HERALD_SCHEMA: schema },
    });
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => assert.fail('expected a non-zero exit'),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );

  it('--json prints one object; --check exits 1 only when unhealthy', async () => {
    const db = await schemaForTest();
    await writeEvents(db, 3);
    const healthy = await cli(db.schema, ['--json', '--check', '--max-transaction-seconds', '3600']);
    const status = JSON.parse(healthy.stdout);
    assert.equal(status.schema, db.schema);
    assert.equal(status.healthy, true, status.problems.join('; '));
    assert.equal(status.backlog.events, 3);
    assert.equal(status.backlog.shards.length, 64, '--json lists every shard');

    await insertDeadLetter(db, { type: 'order.placed', errorCode: 'HERALD_INVALID_DESTINATION' });
    const unhealthy = await failure(cli(db.schema, ['--json', '--check']));
    assert.equal(unhealthy.code, 1);
    assert.equal(JSON.parse(unhealthy.stdout).healthy, false);

    const report = await cli(db.schema, ['--max-transaction-seconds', '3600']);
    assert.match(report.stdout, /UNHEALTHY/);
    assert.match(report.stdout, /! 1 dead letter pending/);
    assert.match(report.stdout, /backlog +3 events in \d+ of 64 shards/);
    assert.match(report.stdout, /order\.placed +HERALD_INVALID_DESTINATION/);
    const tolerant = await cli(db.schema, ['--check', '--max-dead-letters', '1', '--max-transaction-seconds', '3600']);
    assert.match(tolerant.stdout, /: healthy/);
  });

  it('shows consumer groups in the report and in --json; --max-consumer-lag flips --check', async () => {
    const db = await schemaForTest();
    await recordConsumerLag(db);
    await insertConsumerDeadLetterRow(db, 'billing');
    const lenient = ['--max-transaction-seconds', '3600', '--max-dead-letters', '1'];
    const json = await cli(db.schema, ['--json', '--check', ...lenient]);
    const status = JSON.parse(json.stdout);
    assert.equal(status.healthy, true, status.problems.join('; '));
    assert.equal(status.thresholds.maxConsumerLag, null);
    assert.deepEqual(
      status.consumers.map((c: { group: string; lag: number }) => [c.group, c.lag]),
      [
        ['billing', 1234],
        ['emails', 0],
      ],
    );
    assert.equal(status.consumers[0].partitions[1].committed, null);
    assert.equal(status.consumers[0].deadLetters.pending, 1);
    assert.equal(typeof status.consumers[0].measuredAgeSeconds, 'number');

    const behind = await failure(cli(db.schema, ['--json', '--check', ...lenient, '--max-consumer-lag', '1000']));
    assert.equal(behind.code, 1);
    const unhealthy = JSON.parse(behind.stdout);
    assert.equal(unhealthy.thresholds.maxConsumerLag, 1000);
    assert.match(unhealthy.problems[0], /^consumer group billing is 1,234 messages behind/);

    const report = await cli(db.schema, [...lenient, '--max-consumer-lag', '1000']);
    assert.match(report.stdout, /! consumer group billing is 1,234 messages behind/);
    assert.match(report.stdout, /dead letters +none pending from the relay; 1 from consumer groups \(below\)/);
    assert.match(report.stdout, /consumers +2 groups, 1,234 messages behind, 1 dead letter pending/);
    assert.match(report.stdout, /billing +1,234 +[\d.]+ s ago +1 pending/);
    assert.match(report.stdout, /emails +0 +[\d.]+ s ago +none/);
    assert.match(report.stdout, /billing +orders +0 +100 +1300 +1,200/);
    assert.doesNotMatch(report.stdout, /billing +orders +2 /, 'partitions caught up are not listed');

    const strict = await failure(cli(db.schema, ['--check', '--max-transaction-seconds', '3600']));
    assert.match(strict.stdout, /! 1 dead letter pending \(group billing 1\)/);
    const bad = await failure(cli(db.schema, ['--max-consumer-lag', '-5']));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--max-consumer-lag/);
  });

  it('names the error: not migrated, database down, bad threshold', async () => {
    const missing = await failure(cli(uniqueName('herald_none'), []));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /HERALD_NOT_MIGRATED/);
    const down = await failure(cli('herald', [], 'postgres://postgres@127.0.0.1:1/test'));
    assert.equal(down.code, 1);
    assert.match(down.stderr, /HERALD_DATABASE_UNAVAILABLE/);
    const bad = await failure(cli('herald', ['--max-lag-seconds', 'soon']));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--max-lag-seconds/);
  });
});
