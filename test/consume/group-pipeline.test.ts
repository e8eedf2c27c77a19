import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { createConsumer, createLogger } from '../../src/index.ts';
import { consumerFixture, eventMessage } from '../support/consumer.ts';
import { databaseUrl, uniqueName } from '../support/env.ts';
import { createTopic } from '../support/kafka.ts';
import { stepEvent } from '../support/kill-at-ack.ts';
import { waitFor } from '../support/relay-process.ts';

const Step = stepEvent;

describe('consumers: group commit with pipeline', () => {
  const fixture = consumerFixture();
  const { transport } = fixture;
  // node-postgres in pipeline mode: each statement is sent without waiting for the one before.
  const pipelined = new pg.Pool({ connectionString: databaseUrl, max: 4, pipeline: true });
  after(() => pipelined.end());

  /** A new group's consumer on the pipelined pool, one group at a time, no dead-letter topic. */
  const pipelinedConsumer = (attempts: number) =>
    createConsumer({
      transport,
      group: uniqueName('g'),
      db: pipelined,
      schema: fixture.db.schema,
      concurrency: 1,
      groupCommit: { pipeline: true },
      retry: { attempts, initialMs: 10, maxMs: 20 },
      deadLetterTopic: false,
    });
  /** `n` events of distinct keys, published to a topic of their own. */
  const publishSteps = async (n: number) => {
    const topic = await createTopic(1);
    const Def = Step(topic);
    const messages = Array.from({ length: n }, (_, i) =>
      eventMessage(topic, Def.type, { key: `k${i}`, seq: i }, { key: `k${i}` }),
    );
    await transport.publish(messages);
    return { Def, messages };
  };
  /** The handler's effect row, with the transaction that wrote it. */
  const recordEffect = (
    q: pg.PoolClient['query'],
    event: { id: string; payload: { key: string; seq: number } },
  ): Promise<unknown> =>
    q(
      `INSERT INTO ${fixture.effects} (event_id, key, seq, payload)
       VALUES ($1, $2, $3, jsonb_build_object('txid', txid_current()))`,
      [event.id, event.payload.key, event.payload.seq],
    );
  /** Runs the consumer until `n` events are handled or dead-lettered, then stops it. */
  const runUntilSettled = async (consumer: ReturnType<typeof pipelinedConsumer>, n: number) => {
    await consumer.start();
    try {
      await waitFor('every event', () => consumer.stats().handled + consumer.stats().deadLettered === n, 60_000);
    } finally {
      await consumer.stop();
    }
  };
  const effects = async (ids: string[]) =>
    (
      await fixture.db.pool.query<{ event_id: string; txid: string }>(
        `SELECT event_id, payload->>'txid' AS txid FROM ${fixture.effects} WHERE event_id = ANY($1)`,
        [ids],
      )
    ).rows;

  it('runs the handlers of a group side by side in one transaction; a failed statement or a throw fails only its own event', async () => {
    const { Def, messages } = await publishSteps(40);
    // A statement that fails aborts the group's transaction under every other handler's feet.
    const failing = messages[10]?.id as string;
    const thrower = messages[25]?.id as string;
    const flaky = messages[33]?.id as string; // throws twice, then succeeds
    let running = 0;
    let mostAtOnce = 0;
    const attempts = new Map<string, number>();
    const consumer = pipelinedConsumer(3);
    consumer.on(Def, async (event, { tx, attempt }) => {
      running++;
      mostAtOnce = Math.max(mostAtOnce, running);
      attempts.set(event.id, attempt);
      try {
        const q = (tx as pg.PoolClient).query.bind(tx);
        await recordEffect(q, event);
        if (event.id === failing) await q('SELECT 1 / 0');
        if (event.id === thrower || (event.id === flaky && attempt < 3)) throw new Error('not yet');
      } finally {
        running--;
      }
    });
    await runUntilSettled(consumer, 40);
    assert.ok(mostAtOnce > 1, `handlers ran ${mostAtOnce} at once`);
    const rows = await effects(messages.map((m) => m.id));
    const ids = rows.map((r) => r.event_id);
    assert.equal(rows.length, 38, 'one effect per event handled, none for the two dead-lettered');
    assert.equal(new Set(ids).size, 38, 'no effect twice');
    assert.ok(!ids.includes(failing) && !ids.includes(thrower), 'the failures were rolled back');
    assert.ok(ids.includes(flaky), 'the flaky event committed on its third attempt');
    assert.equal(attempts.get(flaky), 3);
    assert.equal(consumer.stats().deadLettered, 2);
    const txids = new Set(rows.map((r) => r.txid));
    assert.ok(txids.size < 20, `38 events committed in ${txids.size} transactions`);
    const inbox = await fixture.db.pool.query(
      `SELECT count(*)::int AS n FROM "${fixture.db.schema}".inbox WHERE event_id = ANY($1)`,
      [[failing, thrower]],
    );
    assert.equal(inbox.rows[0].n, 0, "the failures' inbox rows were taken back");
  });

  it("says so when the pool's connections are not in pipeline mode", async () => {
    const topic = await createTopic(1);
    const lines: string[] = [];
    const consumer = createConsumer({
      transport,
      group: uniqueName('g'),
      db: fixture.db.pool,
      schema: fixture.db.schema,
      groupCommit: { pipeline: true },
      logger: createLogger({ level: 'warn', write: (line) => lines.push(line) }),
    });
    consumer.on(Step(topic), () => {});
    await consumer.start();
    await consumer.stop();
    assert.ok(
      lines.some((l) => /not in pipeline mode/.test(l) && JSON.parse(l).level === 'warn'),
      lines.join(''),
    );
  });

  it('a handler that swallows a failed statement fails only its own event', async () => {
    const { Def, messages } = await publishSteps(12);
    const swallower = messages[5]?.id as string;
    const consumer = pipelinedConsumer(2);
    consumer.on(Def, async (event, { tx }) => {
      const q = (tx as pg.PoolClient).query.bind(tx);
      await recordEffect(q, event);
      // PostgreSQL aborts the transaction; its COMMIT would quietly roll back every event's work.
      if (event.id === swallower) await q('SELECT 1 / 0').catch(() => {});
    });
    await runUntilSettled(consumer, 12);
    assert.equal(consumer.stats().deadLettered, 1);
    const ids = (await effects(messages.map((m) => m.id))).map((r) => r.event_id);
    assert.deepEqual(
      [...ids].sort(),
      messages
        .map((m) => m.id)
        .filter((id) => id !== swallower)
        .sort(),
      'every other event committed once',
    );
  });
});
