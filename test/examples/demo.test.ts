// `npm run demo`, the README's first command, as a newcomer runs it: on the embedded default
// (PGlite and the PostgreSQL transport, no server), ending with its summary.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
// No DATABASE_URL or KAFKA_BROKERS: the embedded default, whatever the machine has running.
const { DATABASE_URL: _d, KAFKA_BROKERS: _k, ...embedded } = process.env;

describe('npm run demo', () => {
  it('runs the inventory system on the embedded default and its books balance', async () => {
    const { stdout, stderr } = await run(
      npm,
      ['run', '--silent', 'demo', '--', '--duration', '5', '--rate', '12', '--json'],
      {
        env: embedded,
        timeout: 180_000,
      },
    );
    const summary = JSON.parse(stdout.trim().split('\n').at(-1) as string);
    assert.deepEqual(Object.keys(summary), [
      'orders',
      'events',
      'lost',
      'appliedTwice',
      'oversold',
      'stockConserved',
      'unsettledOrders',
    ]);
    assert.ok(summary.orders >= 40, `orders: ${summary.orders}`);
    assert.ok(summary.events > summary.orders * 5, `events: ${summary.events}`);
    assert.equal(summary.lost, 0);
    assert.equal(summary.appliedTwice, 0);
    assert.equal(summary.oversold, 0);
    assert.equal(summary.stockConserved, true);
    assert.equal(summary.unsettledOrders, 0);
    assert.match(stderr, /embedded: PGlite in this process/);
    assert.match(stderr, /The books balance\./);
  });

  it('refuses a bad flag with the usage, exit code 2', async () => {
    await assert.rejects(
      run(process.execPath, ['examples/inventory/demo.ts', '--rate', 'fast'], { env: embedded }),
      (error: { code: number; stderr: string }) => {
        assert.equal(error.code, 2);
        assert.match(error.stderr, /--rate: "fast" must be a number from 0\.1 to 1000/);
        assert.match(error.stderr, /usage: npm run demo/);
        return true;
      },
    );
  });
});
