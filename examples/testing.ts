// Unit-testing your own code that writes events: run the real relay against your test database
// with the in-memory transport from `herald/testing`, and assert on what it published.
//   DATABASE_URL=postgres://... node --test examples/testing.ts
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createConsumer, createOutbox, createRelay, defineEvent, migrate, silentLogger } from 'herald';
import { memoryTransport } from 'herald/testing';
import pg from 'pg';
import { z } from 'zod';

const UserRegistered = defineEvent({
  type: 'users.registered',
  version: 1,
  schema: z.object({ userId: z.string(), email: z.string().email() }),
  key: (p) => p.userId,
});

async function registerUser(tx: pg.PoolClient, outbox: ReturnType<typeof createOutbox>, email: string) {
  const userId = `u-${email.split('@')[0]}`;
  await outbox.add(tx, UserRegistered({ userId, email }));
  return userId;
}

test('registering a user announces users.registered', async () => {
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' });
  const schema = `herald_example_${process.pid}`;
  await migrate(pool, { schema });
  const outbox = createOutbox({ schema });
  const transport = memoryTransport();
  const relay = createRelay({ db: pool, schema, transport, topicPrefix: 'app', logger: silentLogger });
  await relay.start();
  try {
    const tx = await pool.connect();
    await tx.query('BEGIN');
    await registerUser(tx, outbox, 'ada@example.com');
    await tx.query('COMMIT');
    tx.release();

    while (transport.messages.length === 0) await new Promise((r) => setTimeout(r, 10));
    const [message] = transport.topic('app.users.registered');
    assert.equal(message?.key, 'u-ada');
    assert.equal(message?.headers.ce_type, 'users.registered');
    assert.deepEqual(JSON.parse(message?.value.toString() ?? ''), { userId: 'u-ada', email: 'ada@example.com' });
  } finally {
    await relay.stop();
    await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
    await pool.end();
  }
});

test('a handler reserves stock once, even when the event arrives twice', async () => {
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' });
  const schema = `herald_example_consumer_${process.pid}`;
  await migrate(pool, { schema });
  await pool.query(`CREATE TABLE "${schema}".welcomed (user_id text PRIMARY KEY)`);
  const transport = memoryTransport();
  const consumer = createConsumer({ transport, group: 'mailer', db: pool, schema, topicPrefix: 'app' });
  consumer.on(UserRegistered, async (event, { tx }) => {
    await tx.query(`INSERT INTO "${schema}".welcomed VALUES ($1)`, [event.payload.userId]);
  });
  const relay = createRelay({ db: pool, schema, transport, topicPrefix: 'app', logger: silentLogger });
  await relay.start();
  await consumer.start();
  try {
    const tx = await pool.connect();
    await tx.query('BEGIN');
    await registerUser(tx, createOutbox({ schema }), 'grace@example.com');
    await tx.query('COMMIT');
    tx.release();
    while (consumer.stats().handled === 0) await new Promise((r) => setTimeout(r, 10));
    // Deliver the same message again: the inbox skips it.
    await transport.publish(transport.topic('app.users.registered'));
    while (consumer.stats().duplicates === 0) await new Promise((r) => setTimeout(r, 10));
    const { rows } = await pool.query(`SELECT user_id FROM "${schema}".welcomed`);
    assert.deepEqual(rows, [{ user_id: 'u-grace' }]);
  } finally {
    await consumer.stop();
    await relay.stop();
    await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
    await pool.end();
  }
});
