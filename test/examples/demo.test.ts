// `npm run demo`, the README's first command, as a newcomer runs it: on the embedded default
// (PGlite and the PostgreSQL transport, no server), ending with its summary.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { waitFor } from '../support/relay-process.ts';

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

  it('with --keep-running serves a dashboard per service and prints its address', async () => {
    const child = spawn(
      process.execPath,
      [
        'examples/inventory/demo.ts',
        '--duration',
        '2',
        '--rate',
        '10',
        '--keep-running',
        '--prefix',
        'herald_demo_keep',
      ],
      {
        env: embedded,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    try {
      await waitFor('the summary and the addresses', () => /Still running[\s\S]*dashboard: /.test(out), 180_000);
      const base = (/dashboard: (http:\/\/127\.0\.0\.1:\d+)\/orders\/dashboard\//.exec(out) as RegExpExecArray)[1];
      for (const service of ['orders', 'inventory', 'payments']) {
        const status = await fetch(`${base}/${service}/api/status`);
        assert.equal(status.status, 200, service);
        const body = (await status.json()) as { schema: string; relays: unknown[] };
        assert.equal(body.schema, `herald_demo_keep_${service}`);
        assert.equal(body.relays.length, 1);
      }
      assert.equal((await fetch(`${base}/orders/dashboard/`)).status, 200);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
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
