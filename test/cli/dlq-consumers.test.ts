import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { z } from 'zod';
import {
  createConsumer,
  createConsumerDeadLetters,
  defineEvent,
  NonRetriableError,
  silentLogger,
} from '../../src/index.ts';
import { insertConsumerDeadLetter } from '../../src/store/sql/consumer-dead-letters.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import { createEffects, eventMessage } from '../support/consumer.ts';
import { brokers, databaseUrl, freshSchema, type TestSchema, uniqueName } from '../support/env.ts';
import { createTopic } from '../support/kafka.ts';
import { waitFor } from '../support/relay-process.ts';

const run = promisify(execFile);

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** `herald dlq ...` as an operator runs it: no broker in the environment, only the database. */
function dlq(schema: string, args: string[]): Promise<Outcome> {
  const { KAFKA_BROKERS: _, ...env } = process.env;
  return run(process.execPath, ['src/cli/main.ts', 'dlq', ...args], {
    env: { ...env, DATABASE_URL: databaseUrl, HERALD_SCHEMA: schema },
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: Outcome) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

const jsonLines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

async function deadLetter(
  db: TestSchema,
  d: { group: string; id: string; type?: string | null; key?: string; offset?: string; error?: string },
): Promise<void> {
  await insertConsumerDeadLetter(db.pool, db.schema, {
    group: d.group,
    messageId: d.id,
    eventType: d.type === undefined ? 'order.placed' : d.type,
    topic: 'orders',
    partition: 2,
    offset: d.offset ?? '17',
    key: d.key ?? 'o-1',
    headers: { ce_id: d.id },
    body: Buffer.from(JSON.stringify({ orderId: d.id })),
    error: { code: 'HERALD_HANDLER_FAILED', message: d.error ?? 'NonRetriableError: no such customer' },
    attempts: 1,
  });
}

describe('herald dlq --group: consumer dead letters', () => {
  let db: TestSchema;
  before(async () => {
    db = await freshSchema();
  });
  after(async () => {
    await db.drop();
  });

  it('lists, shows, retries and discards one group’s dead letters, from the database alone', async () => {
    await deadLetter(db, { group: 'billing', id: 'e-1' });
    await deadLetter(db, {
      group: 'billing',
      id: 'e-2',
      type: 'order.paid',
      key: 'o-2',
      error: 'Error: card declined',
    });
    await deadLetter(db, { group: 'billing', id: 'orders/2/40', type: null, offset: '40' });
    await deadLetter(db, { group: 'emails', id: 'e-1' });

    const listed = await dlq(db.schema, ['list', '--group', 'billing']);
    assert.equal(listed.code, 0, listed.stderr);
    const lines = listed.stdout.trim().split('\n');
    assert.equal(lines.length, 3);
    assert.match(
      lines[0] ?? '',
      /^e-1 {2}\S+Z {2}billing {2}order\.placed {2}orders\[2\]@17 {2}pending {2}attempts=1 {2}HERALD_HANDLER_FAILED: NonRetriableError: no such customer$/,
    );
    assert.match(lines[2] ?? '', /^orders\/2\/40 {2}\S+ {2}billing {2}- {2}orders\[2\]@40 {2}pending/);

    const both = jsonLines((await dlq(db.schema, ['list', '--group', 'billing,emails', '--json'])).stdout);
    assert.deepEqual(both.map((d) => `${d.group}:${d.id}`).sort(), [
      'billing:e-1',
      'billing:e-2',
      'billing:orders/2/40',
      'emails:e-1',
    ]);
    const repeated = jsonLines(
      (await dlq(db.schema, ['list', '--group', 'billing', '--group', 'emails', '--type', 'order.placed', '--json']))
        .stdout,
    );
    assert.equal(repeated.length, 2);
    const declined = jsonLines(
      (await dlq(db.schema, ['list', '--group', 'billing', '--error', 'declined', '--json'])).stdout,
    );
    assert.deepEqual(
      declined.map((d) => [d.id, d.key, d.body]),
      [['e-2', 'o-2', '{"orderId":"e-2"}']],
    );
    // Without --group: the relay's dead letters, as before (it has none).
    assert.equal((await dlq(db.schema, ['list'])).stdout.trim(), 'no dead letters match');

    const shown = await dlq(db.schema, ['show', 'e-1', '--group', 'emails']);
    assert.equal(shown.code, 0, shown.stderr);
    const letter = JSON.parse(shown.stdout);
    assert.equal(letter.group, 'emails');
    assert.equal(letter.topic, 'orders');
    assert.equal(letter.offset, '17');
    assert.deepEqual(letter.headers, { ce_id: 'e-1' });
    const missing = await dlq(db.schema, ['show', 'e-9', '--group', 'emails']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no dead letter e-9 in group emails/);
    const twoGroups = await dlq(db.schema, ['show', 'e-1', '--group', 'billing,emails']);
    assert.equal(twoGroups.code, 2);
    assert.match(twoGroups.stderr, /exactly one group/);

    // A group alone is no selection: never a whole group by accident. An empty --group is refused
    // rather than falling through to the relay's dead letters.
    const unfiltered = await dlq(db.schema, ['retry', '--group', 'billing']);
    assert.equal(unfiltered.code, 2);
    assert.match(unfiltered.stderr, /retry needs ids or a filter/);
    const empty = await dlq(db.schema, ['discard', '--group', '', '--type', 'order.placed']);
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /--group: needs a consumer group name/);

    // Retry needs no broker (none is in the environment): it only marks them.
    const retried = await dlq(db.schema, ['retry', '--group', 'billing', 'e-1', 'e-2']);
    assert.equal(retried.code, 0, retried.stderr);
    assert.match(
      retried.stdout,
      /^2 dead letters marked for retry: a running consumer of group billing handles each again/,
    );
    assert.match(retried.stderr, /no consumer of group billing stored its lag in the last 60 s/);
    const retrying = jsonLines(
      (await dlq(db.schema, ['list', '--group', 'billing', '--status', 'retrying', '--json'])).stdout,
    );
    assert.deepEqual(retrying.map((d) => d.id).sort(), ['e-1', 'e-2']);
    const again = await dlq(db.schema, ['retry', '--group', 'billing', 'e-1', '--json']);
    assert.deepEqual(JSON.parse(again.stdout), { marked: 0 }, 'only pending ones, unless --status says otherwise');
    // --status retrying exists for consumer dead letters only.
    const relayRetrying = await dlq(db.schema, ['list', '--status', 'retrying']);
    assert.equal(relayRetrying.code, 2);
    assert.match(relayRetrying.stderr, /must be pending, retried, discarded or all/);

    // --limit caps what retry and discard act on, as for the relay's dead letters.
    await deadLetter(db, { group: 'emails', id: 'e-2' });
    await deadLetter(db, { group: 'emails', id: 'e-3' });
    const capped = await dlq(db.schema, [
      'discard',
      '--group',
      'emails',
      '--type',
      'order.placed',
      '--limit',
      '2',
      '--json',
    ]);
    assert.deepEqual(JSON.parse(capped.stdout), { discarded: 2 });
    const discarded = await dlq(db.schema, ['discard', '--group', 'billing,emails', '--type', 'order.placed']);
    // emails/e-3 only: the cap took e-1 and e-2 (oldest first), billing's e-1 is retrying, orders/2/40 has no type.
    assert.equal(discarded.stdout.trim(), '1 discarded');
    const all = jsonLines(
      (await dlq(db.schema, ['list', '--group', 'billing,emails', '--status', 'all', '--json'])).stdout,
    );
    assert.deepEqual(Object.fromEntries(all.map((d) => [`${d.group}:${d.id}`, d.status])), {
      'billing:e-1': 'retrying',
      'billing:e-2': 'retrying',
      'billing:orders/2/40': 'pending',
      'emails:e-1': 'discarded',
      'emails:e-2': 'discarded',
      'emails:e-3': 'discarded',
    });
  });

  it('retry --group: a running consumer handles the dead letter again, once in effect', async () => {
    const topic = await createTopic(1, 'herald-dlq-cli');
    const Reserved = defineEvent({
      type: 'inventory.stock.reserved',
      version: 1,
      destination: topic,
      schema: z.object({ sku: z.string() }),
      key: (p) => p.sku,
    });
    const effects = await createEffects(db.pool, db.schema);
    const transport = kafka({ brokers });
    const group = uniqueName('g');
    const message = eventMessage(topic, Reserved.type, { sku: 'X' }, { key: 'X' });
    let refuse = true;
    const consumer = createConsumer({
      transport,
      group,
      db: db.pool,
      schema: db.schema,
      deadLetterTopic: false,
      redeliveryPollMs: 200,
      lagIntervalMs: 300,
      logger: silentLogger,
    });
    consumer.on(Reserved, async (event, { tx }) => {
      if (refuse) throw new NonRetriableError('sku X is not sold here');
      await tx.query(`INSERT INTO ${effects} (event_id, key) VALUES ($1, $2)`, [event.id, event.key]);
    });
    const letters = createConsumerDeadLetters({ db: db.pool, schema: db.schema });
    const statusOf = async () => (await letters.get(group, message.id))?.status;
    const effectCount = async () =>
      Number((await db.pool.query(`SELECT count(*) AS n FROM ${effects} WHERE event_id = $1`, [message.id])).rows[0].n);
    await consumer.start();
    try {
      await transport.publish([message]);
      await waitFor('the dead letter', () => consumer.stats().deadLettered === 1, 30_000);
      const [listed] = jsonLines((await dlq(db.schema, ['list', '--group', group, '--json'])).stdout);
      assert.equal(listed.id, message.id);
      assert.equal(listed.type, Reserved.type);
      assert.equal(listed.error.code, 'HERALD_HANDLER_FAILED');
      assert.match(listed.error.message, /NonRetriableError: sku X is not sold here/);
      assert.equal(await effectCount(), 0);
      await waitFor(
        'the consumer to store its lag',
        async () =>
          (await db.pool.query(`SELECT 1 FROM "${db.schema}".consumer_lag WHERE consumer_group = $1`, [group]))
            .rowCount !== 0,
        30_000,
      );

      // The operator fixes the cause, then retries from the command line.
      refuse = false;
      const retried = await dlq(db.schema, ['retry', '--group', group, message.id]);
      assert.equal(retried.code, 0, retried.stderr);
      assert.match(retried.stdout, /^1 dead letter marked for retry/);
      assert.equal(retried.stderr, '', 'its consumer stored its lag lately: no warning');
      await waitFor('the re-delivery', async () => (await statusOf()) === 'retried', 20_000);
      assert.equal(await effectCount(), 1);

      // Retried once more by mistake: the inbox knows the event, so nothing happens twice.
      // (The running consumer may take it before the command has even exited: check its resolvedAt.)
      const firstResolved = (await letters.get(group, message.id))?.resolvedAt?.getTime() ?? 0;
      const twice = await dlq(db.schema, ['retry', '--group', group, '--status', 'retried', message.id, '--json']);
      assert.deepEqual(JSON.parse(twice.stdout), { marked: 1 });
      await waitFor(
        'the second re-delivery',
        async () => {
          const letter = await letters.get(group, message.id);
          return letter?.status === 'retried' && (letter.resolvedAt?.getTime() ?? 0) > firstResolved;
        },
        20_000,
      );
      assert.equal(await effectCount(), 1);
    } finally {
      await consumer.stop();
      await letters.close();
      await transport.close();
    }
  });
});
