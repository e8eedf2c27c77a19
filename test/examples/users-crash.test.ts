/**
 * The users API (examples/users/server.ts) as its own process, on real PostgreSQL and Kafka: its
 * endpoints and their errors, its events on the topic with their CloudEvents headers, and the
 * crash test: POST /test/crash commits a user and its event, then the process is SIGKILLed
 * before publishing; after a restart the event reaches Kafka exactly once. The same crash runs
 * on the embedded default (PGlite on disk, the PostgreSQL transport).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { pglite } from '../../src/store/pglite.ts';
import { brokers, databaseUrl, uniqueName } from '../support/env.ts';
import { createTopic, type ReadMessage, readTopic } from '../support/kafka.ts';
import { waitFor } from '../support/relay-process.ts';

interface Server {
  child: ChildProcess;
  url: string;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children = new Set<ChildProcess>();
const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
pool.on('error', () => {});
const schemas: string[] = [];
const dirs: string[] = [];

after(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const schema of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
  await pool.end();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Starts the server with PORT=0 and resolves once it printed the port it listens on. */
async function startServer(env: Record<string, string | undefined>): Promise<Server> {
  const child = spawn(process.execPath, ['examples/users/server.ts'], {
    env: { ...env, PORT: '0', HERALD_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 60 s:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /users API listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1] as string);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? signal}) before listening:\n${output}`));
    });
  });
  return { child, url, output: () => output, exited };
}

async function stopServer(server: Server): Promise<void> {
  server.child.kill('SIGTERM');
  const { code } = await server.exited;
  assert.equal(code, 0, `graceful stop:\n${server.output()}`);
}

async function call(server: Server, method: string, path: string, body?: unknown, type = 'application/json') {
  const res = await fetch(`${server.url}${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': type }, body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The env of a server on real PostgreSQL and Kafka, with a schema and a topic of its own. */
async function realEnv(): Promise<Record<string, string | undefined>> {
  const schema = uniqueName('herald_users_t');
  schemas.push(schema);
  const topic = await createTopic(3, 'users-test');
  return {
    ...process.env,
    DATABASE_URL: databaseUrl,
    KAFKA_BROKERS: brokers.join(','),
    USERS_SCHEMA: schema,
    USERS_TOPIC: topic,
  };
}

async function eventsOf(schema: string, userId: string): Promise<{ id: string; type: string }[]> {
  const { rows } = await pool.query<{ id: string; type: string }>(
    `SELECT id, type FROM "${schema}".log WHERE aggregate_type = 'user' AND aggregate_id = $1 ORDER BY xid, seq`,
    [userId],
  );
  return rows;
}

const withId = (messages: ReadMessage[], id: string) => messages.filter((m) => m.headers.ce_id === id);

describe('users API on PostgreSQL and Kafka', () => {
  it('creates, reads and updates users, refuses bad input, and publishes user.created and user.updated', async () => {
    const env = await realEnv();
    const server = await startServer(env);
    try {
      const created = await call(server, 'POST', '/users', { email: 'ada@example.com', name: 'Ada' });
      assert.equal(created.status, 201);
      const user = created.body;
      assert.match(String(user.id), /^[0-9a-f-]{36}$/);
      assert.equal(user.email, 'ada@example.com');
      assert.equal(user.name, 'Ada');
      assert.equal(user.createdAt, user.updatedAt);
      assert.ok(!Number.isNaN(Date.parse(String(user.createdAt))));

      assert.deepEqual(await call(server, 'GET', `/users/${user.id}`), { status: 200, body: user });
      const updated = await call(server, 'PUT', `/users/${user.id}`, { name: 'Ada Lovelace' });
      assert.equal(updated.status, 200);
      assert.equal(updated.body.name, 'Ada Lovelace');
      assert.equal(updated.body.email, 'ada@example.com');
      assert.equal(updated.body.createdAt, user.createdAt);
      assert.ok(Date.parse(String(updated.body.updatedAt)) >= Date.parse(String(user.createdAt)));
      assert.deepEqual((await call(server, 'GET', `/users/${user.id}`)).body, updated.body);

      // Errors: { error: { code, message } } with a 4xx status.
      const badJson = await fetch(`${server.url}/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"email": "x@example.com",',
      });
      assert.equal(badJson.status, 400);
      assert.equal(((await badJson.json()) as { error: { code: string } }).error.code, 'invalid_json');
      const noEmail = await call(server, 'POST', '/users', { name: 'Nobody' });
      assert.equal(noEmail.status, 400);
      assert.deepEqual(Object.keys(noEmail.body.error as object), ['code', 'message']);
      assert.equal((noEmail.body.error as { code: string }).code, 'invalid_body');
      assert.match((noEmail.body.error as { message: string }).message, /email/);
      const badEmail = await call(server, 'POST', '/users', { email: 'not-an-email', name: 'X' });
      assert.equal(badEmail.status, 400);
      const notJson = await call(server, 'POST', '/users', { email: 'y@example.com', name: 'Y' }, 'text/plain');
      assert.equal(notJson.status, 415);
      const unknown = '00000000-0000-4000-8000-000000000000';
      for (const [method, body] of [
        ['GET', undefined],
        ['PUT', { name: 'Z' }],
      ] as const) {
        const missing = await call(server, method, `/users/${unknown}`, body);
        assert.equal(missing.status, 404, method);
        assert.equal((missing.body.error as { code: string }).code, 'user_not_found');
      }
      assert.equal((await call(server, 'GET', '/users/not-a-uuid')).status, 404);
      const duplicate = await call(server, 'POST', '/users', { email: 'ada@example.com', name: 'Other Ada' });
      assert.equal(duplicate.status, 409);
      assert.equal((duplicate.body.error as { code: string }).code, 'email_taken');
      const other = await call(server, 'POST', '/users', { email: 'grace@example.com', name: 'Grace' });
      assert.equal(other.status, 201);
      const taken = await call(server, 'PUT', `/users/${other.body.id}`, { email: 'ada@example.com' });
      assert.equal(taken.status, 409);

      const health = await call(server, 'GET', '/health');
      assert.equal(health.status, 200);
      assert.equal(health.body.status, 'ok');
      assert.equal((health.body.relay as { state: string }).state, 'running');

      // Only the committed changes wrote events: Ada's two, Grace's creation.
      const schema = env.USERS_SCHEMA as string;
      const events = await eventsOf(schema, String(user.id));
      assert.deepEqual(
        events.map((e) => e.type),
        ['user.created', 'user.updated'],
      );
      const messages = await readTopic(env.USERS_TOPIC as string, 0, { untilIds: events.map((e) => e.id) });
      const [createdMessage, updatedMessage] = events.map((e) => {
        const found = withId(messages, e.id);
        assert.equal(found.length, 1, `${e.type} once`);
        return found[0] as ReadMessage;
      });
      assert.ok(createdMessage && updatedMessage);
      for (const [message, type] of [
        [createdMessage, 'user.created'],
        [updatedMessage, 'user.updated'],
      ] as const) {
        assert.equal(message.key, user.id);
        assert.equal(message.headers.ce_specversion, '1.0');
        assert.equal(message.headers.ce_type, type);
        assert.equal(message.headers.ce_source, '/users-api');
        assert.equal(message.headers.ce_subject, `user/${user.id}`);
        assert.equal(message.headers.ce_dataversion, '1');
        assert.equal(message.headers.ce_partitionkey, user.id);
        assert.equal(message.headers['content-type'], 'application/json');
        assert.ok(!Number.isNaN(Date.parse(message.headers.ce_time ?? '')));
      }
      assert.deepEqual(JSON.parse(createdMessage.value), user);
      assert.deepEqual(JSON.parse(updatedMessage.value), { ...updated.body, changed: ['name'] });
      assert.equal(createdMessage.partition, updatedMessage.partition, 'one user, one partition');
      assert.ok(updatedMessage.offset > createdMessage.offset, 'in commit order');
    } finally {
      await stopServer(server);
    }
  });

  it('crash after COMMIT: nothing published, then after a restart the event arrives exactly once', async () => {
    const env = await realEnv();
    const schema = env.USERS_SCHEMA as string;
    const topic = env.USERS_TOPIC as string;
    const email = 'crash@example.com';

    const first = await startServer(env);
    await assert.rejects(
      call(first, 'POST', '/test/crash', { email, name: 'Crash', crash_after_db: true }),
      /fetch failed/,
      'the request dies with the process',
    );
    const exit = await first.exited;
    assert.equal(exit.signal, 'SIGKILL', first.output());

    // Both rows committed: the user and its event in the log.
    const { rows } = await pool.query<{ id: string }>(`SELECT id FROM "${schema}".users WHERE email = $1`, [email]);
    assert.equal(rows.length, 1);
    const userId = (rows[0] as { id: string }).id;
    const events = await eventsOf(schema, userId);
    assert.deepEqual(
      events.map((e) => e.type),
      ['user.created'],
    );
    const eventId = (events[0] as { id: string }).id;
    assert.deepEqual(await readTopic(topic, 1, { timeoutMs: 3_000 }), [], 'nothing published before the crash');

    const second = await startServer(env);
    try {
      // The dead relay's shard leases run out (5 s), then the new one publishes the backlog.
      const arrived = await readTopic(topic, 0, { untilIds: [eventId], timeoutMs: 30_000 });
      assert.equal(withId(arrived, eventId).length, 1);
      const user = await call(second, 'GET', `/users/${userId}`);
      assert.equal(user.status, 200);
      assert.deepEqual(JSON.parse((withId(arrived, eventId)[0] as ReadMessage).value), user.body);
    } finally {
      await stopServer(second);
    }
    // Read the whole topic again once nothing can publish any more: one record, that event.
    const all = await readTopic(topic, 2, { timeoutMs: 3_000 });
    assert.equal(all.length, 1);
    assert.equal(withId(all, eventId).length, 1);
  });
});

describe('users API embedded (PGlite on disk, the PostgreSQL transport)', () => {
  it('crash after COMMIT: the commit survives SIGKILL and the event is published once after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-users-'));
    dirs.push(dir);
    const { DATABASE_URL: _db, KAFKA_BROKERS: _k, ...rest } = process.env;
    const env = { ...rest, HERALD_DATA_DIR: dir, USERS_SCHEMA: 'herald_users', USERS_TOPIC: 'users' };
    const email = 'crash@example.com';
    /** Opens the data directory while no server has it, as a fresh PGlite. */
    const inspect = async () => {
      const db = await pglite({ dataDir: dir });
      try {
        const users = await db.query<{ id: string }>('SELECT id FROM herald_users.users WHERE email = $1', [email]);
        const userId = users.rows[0]?.id ?? '';
        const log = await db.query<{ id: string }>(
          "SELECT id FROM herald_users.log WHERE type = 'user.created' AND aggregate_id = $1",
          [userId],
        );
        const eventId = log.rows[0]?.id ?? '';
        const published = await db.query<{ id: string }>(
          "SELECT id FROM herald_users.broker_messages WHERE topic = 'users' AND id = $1",
          [eventId],
        );
        return { userId, eventId, published: published.rows.length };
      } finally {
        await db.end();
      }
    };

    const first = await startServer(env);
    await assert.rejects(call(first, 'POST', '/test/crash', { email, name: 'Crash', crash_after_db: true }));
    assert.equal((await first.exited).signal, 'SIGKILL', first.output());

    const afterCrash = await inspect();
    assert.ok(afterCrash.userId, 'the user row survived the SIGKILL');
    assert.ok(afterCrash.eventId, 'the outbox row survived the SIGKILL');
    assert.equal(afterCrash.published, 0, 'nothing published before the crash');

    const second = await startServer(env);
    try {
      await waitFor('the relay to publish after the restart', async () => {
        const health = await call(second, 'GET', '/health');
        return (health.body.relay as { published?: number }).published === 1;
      });
    } finally {
      await stopServer(second);
    }
    const afterRestart = await inspect();
    assert.equal(afterRestart.eventId, afterCrash.eventId);
    assert.equal(afterRestart.published, 1, 'published exactly once');
  });
});
