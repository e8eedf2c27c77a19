import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { z } from 'zod';
import { createOutbox, defineEvent } from '../../src/index.ts';
import { databaseUrl, freshSchema, inTransaction, type TestSchema } from '../support/env.ts';
import { spawnRelay, waitFor } from '../support/relay-process.ts';

const run = promisify(execFile);

describe('herald relay --transport', () => {
  let db: TestSchema;
  before(async () => {
    db = await freshSchema();
  });
  after(() => db.drop());

  it('names the missing setting of the chosen transport', async () => {
    const failed = await run(process.execPath, ['src/cli/main.ts', 'relay', '--transport', 'rabbitmq'], {
      env: { ...process.env, DATABASE_URL: databaseUrl },
    }).then(
      () => null,
      (error: { code: number; stderr: string }) => error,
    );
    assert.ok(failed, 'the relay refused to start');
    assert.equal(failed.code, 2);
    assert.match(failed.stderr, /--broker-url \/ HERALD_BROKER_URL is required with --transport rabbitmq/);
    const bad = await run(process.execPath, ['src/cli/main.ts', 'relay', '--transport', 'carrier-pigeon'], {
      env: { ...process.env, DATABASE_URL: databaseUrl },
    }).then(
      () => null,
      (error: { code: number; stderr: string }) => error,
    );
    assert.match(
      bad?.stderr ?? '',
      /--transport \/ HERALD_TRANSPORT: "carrier-pigeon" must be one of kafka, rabbitmq, nats, sqs, postgres/,
    );
  });

  it('publishes to PostgreSQL as the broker when told to', async () => {
    const Placed = defineEvent({
      type: 'order.placed',
      version: 1,
      destination: 'orders',
      schema: z.object({ orderId: z.string() }),
      key: (p) => p.orderId,
    });
    const placed = Placed({ orderId: 'o-1' });
    await inTransaction(db.pool, (tx) => createOutbox({ schema: db.schema }).add(tx, placed));
    const relay = spawnRelay(db.schema, { HERALD_TRANSPORT: 'postgres' });
    try {
      await waitFor(
        'the message in the broker table',
        async () =>
          (await db.pool.query(`SELECT 1 FROM "${db.schema}".broker_messages WHERE id = $1`, [placed.id])).rowCount ===
          1,
        30_000,
      );
    } finally {
      relay.child.kill('SIGTERM');
      await relay.exited;
    }
  });
});
