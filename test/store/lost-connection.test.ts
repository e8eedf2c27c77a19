/**
 * The server dropping a connection (a restart, pg_terminate_backend: SQLSTATE 57P01) while no
 * query runs on it: node-postgres emits `error` on the client, which ends the process when
 * nothing listens. Every client of a pool Herald opens or is given listens from its first moment
 * (`openPool`, src/store/connect.ts), whoever holds it.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import pg from 'pg';
import { openPool } from '../../src/store/connect.ts';
import { databaseUrl } from '../support/env.ts';

/** One message of the PostgreSQL protocol: its type byte, its length, its body. */
const message = (type: string, body: Buffer) => {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
};
const fields = (pairs: [string, string][]) =>
  Buffer.concat([...pairs.map(([k, v]) => Buffer.from(`${k}${v}\0`, 'utf8')), Buffer.from([0])]);

/**
 * A server that accepts a login and, in the same packet as its ReadyForQuery, shuts the
 * connection down as PostgreSQL does when it stops: the moment a pool has just handed the new
 * client out and the caller's code has not run yet.
 */
async function dyingServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('data', () => {
      const ok = message('R', Buffer.from([0, 0, 0, 0]));
      const ready = message('Z', Buffer.from('I'));
      const fatal = message(
        'E',
        fields([
          ['S', 'FATAL'],
          ['V', 'FATAL'],
          ['C', '57P01'],
          ['M', 'terminating connection due to administrator command'],
        ]),
      );
      socket.end(Buffer.concat([ok, ready, fatal]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `postgres://nobody@127.0.0.1:${port}/none`,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

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

  for (const whose of ['its own', 'the caller’s'] as const) {
    it(`the server stops as the connection is made (${whose} pool): the new client fails, the process goes on`, async () => {
      const server = await dyingServer();
      const given = new pg.Pool({ connectionString: server.url, max: 1 });
      given.on('error', () => {});
      const { pool } = openPool(whose === 'its own' ? server.url : given, 1);
      try {
        // pg-pool hands the client out on ReadyForQuery; the 57P01 in the same packet reaches it
        // before this code runs, with no listener of pg-pool's left on it.
        const client = (await pool.connect()) as unknown as pg.PoolClient;
        await new Promise((r) => setTimeout(r, 50));
        await assert.rejects(client.query('SELECT 1'), /not queryable|terminat/i);
        client.release(true);
      } finally {
        await pool.end?.();
        if (whose === 'its own') await given.end();
        await server.close();
      }
    });
  }
});
