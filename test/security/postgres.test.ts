import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { inspect } from 'node:util';
import pg from 'pg';
import { z } from 'zod';
import { makeCertificates } from '../../infra/certs.mjs';
import { privatePostgres } from '../../infra/postgres.mjs';
import { createOutbox, createRelay, defineEvent, getStatus, HeraldError } from '../../src/index.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import { brokers, freshSchema, inTransaction, type TestSchema } from '../support/env.ts';
import { roundTrip } from './round-trip.ts';
import { assertNoSecret, captureLogger } from './secrets.ts';

const password = 'pg-Scram-Pw-41d2';

async function rejection(promise: Promise<unknown>): Promise<HeraldError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof HeraldError, `a HeraldError, not ${inspect(error)}`);
    return error;
  }
  assert.fail('expected a rejection');
}

describe('PostgreSQL over TLS with SCRAM passwords (a private cluster: hostssl scram-sha-256 only)', () => {
  let server: Awaited<ReturnType<typeof privatePostgres>> | undefined;
  let unavailable: string | undefined;
  let db: TestSchema;
  const otherCa = makeCertificates(fs.mkdtempSync(path.join(os.tmpdir(), 'herald-other-ca-'))).ca;
  /** The server's URL with something of it changed. */
  const urlWith = (change: (url: URL) => void) => {
    const url = new URL((server as { url: string }).url);
    change(url);
    return url.toString();
  };

  before(async () => {
    try {
      server = await privatePostgres({ tls: true, password });
      db = await freshSchema(server.url);
    } catch (error) {
      if ((error as { unavailable?: boolean }).unavailable !== true) throw error;
      unavailable = (error as Error).message;
    }
  });
  after(async () => {
    await db?.drop();
    await server?.destroy();
    fs.rmSync(path.dirname(otherCa), { recursive: true, force: true });
  });
  const need = (t: TestContext) => {
    if (!server) t.skip(`skipped: ${unavailable}`);
    return server;
  };

  it('runs the outbox, a relay and a consumer over it, each connecting by the URL (sslmode=verify-full)', async (t) => {
    const s = need(t);
    if (!s) return;
    const { rows } = await db.pool.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    assert.equal(rows[0]?.ssl, true, 'the connection is encrypted');
    const { published, handled } = await roundTrip({
      pool: db.pool,
      db: s.url,
      schema: db.schema,
      transport: () => kafka({ brokers, sessionTimeoutMs: 6000 }),
    });
    assert.equal(published, 3);
    assert.deepEqual(handled, [0, 1, 2]);
  });

  it('refuses a connection without TLS or without the password', async (t) => {
    const s = need(t);
    if (!s) return;
    const plain = urlWith((u) => {
      u.search = '';
    });
    const error = await rejection(getStatus({ db: plain, schema: db.schema }));
    assert.equal(error.code, 'HERALD_AUTHENTICATION_FAILED', error.message);
    assert.match(error.message, /no encryption|pg_hba/);
  });

  it('a wrong password: HERALD_AUTHENTICATION_FAILED, the password nowhere; a relay does not start', async (t) => {
    const s = need(t);
    if (!s) return;
    const wrong = 'wrong-Pg-Pw-88c0';
    const url = urlWith((u) => {
      u.password = wrong;
    });
    const error = await rejection(getStatus({ db: url, schema: db.schema }));
    assert.equal(error.code, 'HERALD_AUTHENTICATION_FAILED', error.message);
    assert.match(error.message, /password authentication failed for user "postgres"/);
    assertNoSecret([error.message, inspect(error, { depth: 20 }), JSON.stringify(error.details)], [wrong, password]);

    const Def = defineEvent({
      type: 'security.pg.refused',
      version: 1,
      schema: z.object({ n: z.number() }),
      key: (p) => String(p.n),
    });
    await inTransaction(db.pool, (tx) => createOutbox({ schema: db.schema }).add(tx, Def({ n: 1 })));
    const logs = captureLogger();
    const relay = createRelay({ db: url, schema: db.schema, transport: kafka({ brokers }), logger: logs.logger });
    const atStart = await rejection(relay.start());
    assert.equal(atStart.code, 'HERALD_AUTHENTICATION_FAILED', atStart.message);
    assertNoSecret([...logs.lines, inspect(atStart, { depth: 20 }), JSON.stringify(relay.stats())], [wrong, password]);
  });

  it('a CA that did not sign the server: HERALD_TLS_FAILED', async (t) => {
    const s = need(t);
    if (!s) return;
    const url = urlWith((u) => {
      u.searchParams.set('sslrootcert', otherCa);
    });
    const error = await rejection(getStatus({ db: url, schema: db.schema }));
    assert.equal(error.code, 'HERALD_TLS_FAILED', error.message);
    assert.match(error.message, /certificate/);
    assertNoSecret([error.message, inspect(error, { depth: 20 })], [password]);
    // And a pool the caller made, with node-postgres' own ssl options, works as the URL does.
    const pool = new pg.Pool({
      host: '127.0.0.1',
      port: s.port,
      database: 'test',
      user: 'postgres',
      password,
      ssl: { ca: fs.readFileSync((s.certs as { ca: string }).ca) },
    });
    try {
      const status = await getStatus({ db: pool, schema: db.schema });
      assert.equal(status.schema, db.schema);
    } finally {
      await pool.end();
    }
  });
});
