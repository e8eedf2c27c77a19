/**
 * The server dropping a connection (a restart, pg_terminate_backend: SQLSTATE 57P01) while a
 * client of Herald's own pool holds it with no query running: node-postgres emits `error` on that
 * client, which ends the process when nothing listens. Every client of a pool Herald opens
 * listens from its start, whoever holds it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { openPool } from '../../src/store/connect.ts';
import { databaseUrl } from '../support/env.ts';

describe("a lost connection on a client of Herald's pool", () => {
  it('checked out with no query running: the process goes on, the next query fails, the pool serves again', async () => {
    const { pool } = openPool(databaseUrl, 2);
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    try {
      // Held the way any caller might hold it, without a listener of its own.
      const held = (await pool.connect()) as unknown as pg.PoolClient;
      const { rows } = await held.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      // Not events.once: it listens for `error` too, which would hide what this test looks for.
      const ended = new Promise((resolve) => held.once('end', resolve));
      await admin.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid]);
      await ended;
      await assert.rejects(held.query('SELECT 1'), /not queryable|terminat/i);
      held.release(true);
      const again = await pool.query('SELECT 1 AS one');
      assert.equal(again.rows[0]?.one, 1);
    } finally {
      await admin.end();
      await pool.end?.();
    }
  });
});
