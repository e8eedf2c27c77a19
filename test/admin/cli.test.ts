import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { brokers, databaseUrl, freshSchema, type TestSchema } from '../support/env.ts';
import { spawnRelay, waitFor } from '../support/relay-process.ts';
import { adminToken, call, readToken } from './fixture.ts';

const run = promisify(execFile);
const { HERALD_ADMIN_TOKEN: _a, HERALD_READ_TOKEN: _r, ...baseEnv } = process.env;

/** `herald dashboard` as its own process; resolves with the address it prints. */
async function dashboard(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['src/cli/main.ts', 'dashboard', '--http', '127.0.0.1:0'], {
    env: { ...baseEnv, DATABASE_URL: databaseUrl, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  await waitFor('the dashboard address', () => /http:\/\/\S+\/dashboard\//.test(out));
  return { child, url: (/(http:\/\/\S+)\/dashboard\//.exec(out) as RegExpExecArray)[1] as string };
}

const stop = async (child: ChildProcess) => {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  return exited;
};

describe('herald dashboard and herald relay --http serve the admin API', () => {
  let db: TestSchema;
  before(async () => {
    db = await freshSchema();
  });
  after(() => db.drop());

  it('herald dashboard: tokens from the environment, its address printed; refuses to run without credentials', async () => {
    const refused = await run(process.execPath, ['src/cli/main.ts', 'dashboard'], {
      env: { ...baseEnv, DATABASE_URL: databaseUrl, HERALD_SCHEMA: db.schema },
    }).catch((e: { code: number; stderr: string }) => e);
    assert.equal((refused as { code: number }).code, 2);
    assert.match((refused as { stderr: string }).stderr, /needs HERALD_ADMIN_TOKEN or HERALD_READ_TOKEN/);
    const openWide = await run(process.execPath, ['src/cli/main.ts', 'dashboard', '--open', '--http', '0.0.0.0:0'], {
      env: { ...baseEnv, DATABASE_URL: databaseUrl },
    }).catch((e: { code: number; stderr: string }) => e);
    assert.match((openWide as { stderr: string }).stderr, /--open: the admin API runs open on a loopback address only/);

    const d = await dashboard({
      HERALD_SCHEMA: db.schema,
      KAFKA_BROKERS: brokers.join(','),
      HERALD_ADMIN_TOKEN: adminToken,
      HERALD_READ_TOKEN: readToken,
    });
    try {
      const status = await call(d.url, 'GET', '/api/status', { token: readToken });
      assert.deepEqual([status.status, status.body.schema], [200, db.schema]);
      assert.equal((await call(d.url, 'GET', '/api/whoami')).body.canPublish, true);
      assert.equal((await call(d.url, 'GET', '/api/status', { token: null })).status, 401);
      assert.equal((await fetch(`${d.url}/dashboard/`)).status, 200);
    } finally {
      assert.equal(await stop(d.child), 0);
    }
  });

  it('herald relay --http with HERALD_READ_TOKEN serves the API beside /readyz', async () => {
    const relay = spawnRelay(db.schema, {
      HERALD_HTTP: '127.0.0.1:0',
      HERALD_READ_TOKEN: readToken,
      HERALD_ADMIN_TOKEN: '',
    });
    try {
      await waitFor('the http endpoints', () => /http endpoints listening/.test(relay.logs()));
      const port = JSON.parse(
        relay
          .logs()
          .split('\n')
          .find((l) => l.includes('http endpoints listening')) as string,
      ).port;
      const base = `http://127.0.0.1:${port}`;
      await waitFor('ready', async () => (await fetch(`${base}/readyz`)).status === 200);
      await waitFor('the relay in the status', async () => {
        const relays = await call(base, 'GET', '/api/relays', { token: readToken });
        return relays.status === 200 && relays.body.relays.length === 1;
      });
      const denied = await call(base, 'POST', '/api/dead-letters/discard', { token: readToken, body: { type: ['x'] } });
      assert.equal(denied.status, 403);
      assert.doesNotMatch(relay.logs(), new RegExp(readToken));
    } finally {
      relay.child.kill('SIGTERM');
      await relay.exited;
    }
  });
});
