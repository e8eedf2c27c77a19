import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { type ConsumerOptions, createConsumer, isHeraldError, NonRetriableError } from '../../src/index.ts';
import { consumerFixture, eventMessage } from '../support/consumer.ts';
import { databaseUrl, uniqueName } from '../support/env.ts';
import { groupCommitHelpers } from '../support/group-commit.ts';
import { createTopic } from '../support/kafka.ts';
import { stepEvent } from '../support/kill-at-ack.ts';
import { waitFor } from '../support/relay-process.ts';

const Step = stepEvent;

describe('consumers: group commit', () => {
  const fixture = consumerFixture();
  const { transport } = fixture;

  const { record, effects, settle, deadLetters } = groupCommitHelpers(fixture);
  /** A new group's consumer with one transaction at a time. */
  const oneAtATime = (options: Partial<ConsumerOptions>) =>
    createConsumer({
      transport,
      group: uniqueName('g'),
      db: fixture.db.pool,
      schema: fixture.db.schema,
      concurrency: 1,
      ...options,
    });

  it('commits a group once around a handler that throws: the thrower alone is retried, then dead-lettered', async () => {
    const topic = await createTopic(1);
    const Def = Step(topic);
    const messages = Array.from({ length: 40 }, (_, i) =>
      eventMessage(topic, Def.type, { key: `k${i}`, seq: i }, { key: `k${i}` }),
    );
    const flaky = messages[10]?.id as string; // fails twice, then succeeds
    const poison = messages[20]?.id as string; // fails every time
    const refused = messages[30]?.id as string; // refused for good at once
    await transport.publish(messages);
    /** Each event's handler calls, by the attempt number each was given. */
    const calls = new Map<string, number[]>();
    // Concurrency 1: the ready events run in groups, one transaction after another.
    const consumer = oneAtATime({ retry: { attempts: 3, initialMs: 10, maxMs: 20 }, deadLetterTopic: false });
    consumer.on(Def, async (event, { tx, attempt }) => {
      calls.set(event.id, [...(calls.get(event.id) ?? []), attempt]);
      // The effect is written before the throw: the rollback must take it back.
      await record(tx as never, event);
      if (event.id === refused) throw new NonRetriableError('refused');
      if (event.id === poison || (event.id === flaky && attempt < 3)) throw new Error('not yet');
    });
    await settle(consumer, 40);
    const rows = await effects(messages.map((m) => m.id));
    const ids = rows.map((r) => r.event_id);
    assert.equal(rows.length, 38, 'one effect per event handled, none for the two dead-lettered');
    assert.equal(new Set(ids).size, 38, 'no effect twice');
    assert.ok(!ids.includes(poison) && !ids.includes(refused), 'the throwers rolled back to their savepoints');
    assert.equal(consumer.stats().deadLettered, 2);
    // The attempt number counts the try in the group; a thrower is not run again in the group.
    assert.deepEqual(calls.get(poison), [1, 2, 3], 'the poison event was tried the allowed times');
    assert.deepEqual(calls.get(refused), [1], 'a NonRetriableError gives up at once');
    assert.deepEqual(calls.get(flaky), [1, 2, 3]);
    // The group ran first without savepoints: the events before the first thrower ran, were
    // rolled back with it, and ran again in the group's second transaction (a savepoint each).
    const rest = messages.filter((m) => ![flaky, poison, refused].includes(m.id));
    for (const m of rest)
      assert.ok(
        [[1], [1, 1]].some((c) => String(c) === String(calls.get(m.id))),
        m.id,
      );
    const again = rest.filter((m) => calls.get(m.id)?.length === 2).length;
    assert.ok(again > 0 && again < rest.length, `${again} events ran again after their group rolled back`);
    const txids = new Set(rows.map((r) => r.txid));
    assert.ok(txids.size < 20, `38 events committed in ${txids.size} transactions`);
    const flakyTx = rows.find((r) => r.event_id === flaky)?.txid;
    assert.equal(rows.filter((r) => r.txid === flakyTx).length, 1, 'the retried event committed alone');
    const inbox = await fixture.db.pool.query(
      `SELECT count(*)::int AS n FROM "${fixture.db.schema}".inbox WHERE event_id = ANY($1)`,
      [[poison, refused]],
    );
    assert.equal(inbox.rows[0].n, 0, "the throwers' inbox rows were taken back");
  });

  for (const groupCommit of [undefined, false] as const) {
    it(`a handler that catches a failed statement's error does not pass for handled: its transaction was aborted (group commit ${groupCommit === false ? 'off' : 'on'})`, async () => {
      const topic = await createTopic(1);
      const Def = Step(topic);
      const messages = Array.from({ length: 12 }, (_, i) =>
        eventMessage(topic, Def.type, { key: `k${i}`, seq: i }, { key: `k${i}` }),
      );
      // The middle one and the last one: in a group, a swallower last is the group's COMMIT.
      const swallowers = [messages[5]?.id, messages[11]?.id] as string[];
      await transport.publish(messages);
      const consumer = oneAtATime({
        retry: { attempts: 2, initialMs: 10, maxMs: 20 },
        deadLetterTopic: false,
        ...(groupCommit === false ? { groupCommit } : {}),
      });
      consumer.on(Def, async (event, { tx }) => {
        await record(tx as never, event);
        if (swallowers.includes(event.id)) {
          // PostgreSQL aborts the transaction; its COMMIT would quietly roll back.
          await (tx as pg.PoolClient).query('SELECT 1 / 0').catch(() => {});
        }
      });
      await settle(consumer, 12);
      const ids = (await effects(messages.map((m) => m.id))).map((r) => r.event_id);
      assert.equal(consumer.stats().deadLettered, 2, 'the two whose transactions were aborted');
      assert.equal(consumer.stats().handled, 10);
      const reasons = await deadLetters(swallowers);
      assert.equal(reasons.length, 2, 'both dead letters kept');
      for (const r of reasons) assert.match(r.error_message, /PostgreSQL aborted the transaction/);
      assert.deepEqual(
        [...ids].sort(),
        messages
          .map((m) => m.id)
          .filter((id) => !swallowers.includes(id))
          .sort(),
        'every other event committed once',
      );
    });
  }

  for (const groupCommit of [undefined, false] as const) {
    it(`an event that keeps meeting lock conflicts alone is ${groupCommit === false ? 'dead-lettered at its last attempt (group commit off)' : 'retried without counting them (group commit on: the other side may be a group)'}`, async () => {
      const topic = await createTopic(1);
      const Def = Step(topic);
      const messages = Array.from({ length: 6 }, (_, i) =>
        eventMessage(topic, Def.type, { key: `k${i}`, seq: i }, { key: `k${i}` }),
      );
      const unlucky = messages[3]?.id as string;
      await transport.publish(messages);
      const consumer = oneAtATime({
        retry: { attempts: 1, initialMs: 5, maxMs: 10 },
        deadLetterTopic: false,
        ...(groupCommit === false ? { groupCommit } : {}),
      });
      let tries = 0;
      consumer.on(Def, async (event, { tx }) => {
        await record(tx as never, event);
        // What pg says when PostgreSQL chose this transaction as a deadlock's victim: three times.
        if (event.id === unlucky && ++tries <= 3)
          throw Object.assign(new Error('deadlock detected'), { code: '40P01', severity: 'ERROR' });
      });
      await settle(consumer, 6);
      const ids = (await effects(messages.map((m) => m.id))).map((r) => r.event_id);
      if (groupCommit === false) {
        assert.equal(tries, 1, 'one attempt allowed, and a deadlock counts as one');
        assert.equal(consumer.stats().deadLettered, 1);
        assert.ok(!ids.includes(unlucky));
      } else {
        assert.equal(tries, 4, 'the try in the group, two alone, then the one that committed');
        assert.equal(consumer.stats().deadLettered, 0);
        assert.equal(ids.filter((id) => id === unlucky).length, 1, 'its effect once');
      }
      assert.equal(new Set(ids).size, ids.length, 'no effect twice');
    });
  }

  for (const pipeline of [false, true]) {
    it(`handlers that lock shared rows: groups that conflict hand their events to run alone, not counted as attempts${pipeline ? ' (pipeline)' : ''}`, async () => {
      const topic = await createTopic(4);
      const Def = Step(topic);
      const hot = `"${fixture.db.schema}".hot_rows_${pipeline ? 'pipelined' : 'sequential'}`;
      // With pipeline, a group's handlers run side by side and all wait on the same lock at once.
      const pool = pipeline ? new pg.Pool({ connectionString: databaseUrl, max: 6, pipeline }) : fixture.db.pool;
      await fixture.db.pool.query(`CREATE TABLE ${hot} (id int PRIMARY KEY, n int NOT NULL)`);
      await fixture.db.pool.query(`INSERT INTO ${hot} VALUES (1, 0), (2, 0)`);
      const messages = Array.from({ length: 60 }, (_, i) =>
        eventMessage(topic, Def.type, { key: `k${i}`, seq: i }, { key: `k${i}` }),
      );
      await transport.publish(messages);
      // One attempt only: before, an event caught in its group's deadlock had used it up.
      const consumer = createConsumer({
        transport,
        group: uniqueName('g'),
        db: pool,
        schema: fixture.db.schema,
        concurrency: 4,
        retry: { attempts: 1 },
        deadLetterTopic: false,
        groupCommit: { pipeline },
      });
      consumer.on(Def, async (event, { tx }) => {
        const q = (tx as pg.PoolClient).query.bind(tx);
        // Each event updates one of two rows and holds it a moment: alone, events only wait for each
        // other; in groups (even and odd events mixed), two groups each hold the row the other wants.
        await q(`UPDATE ${hot} SET n = n + 1 WHERE id = $1`, [(event.payload.seq % 2) + 1]);
        await q('SELECT pg_sleep(0.005)');
        await record(tx as never, event);
      });
      try {
        await settle(consumer, 60, { timeoutMs: 120_000 });
      } finally {
        if (pool !== fixture.db.pool) await pool.end();
      }
      // Why, if any was: the reasons recorded with the dead letters.
      const dead = await deadLetters(messages.map((m) => m.id));
      assert.deepEqual(dead, [], 'no event dead-lettered for its group’s lock conflict');
      assert.equal(consumer.stats().deadLettered, 0);
      const rows = await effects(messages.map((m) => m.id));
      assert.equal(new Set(rows.map((r) => r.event_id)).size, 60);
      assert.equal(rows.length, 60, 'each once');
      const counts = (await fixture.db.pool.query<{ n: number }>(`SELECT n FROM ${hot} ORDER BY id`)).rows;
      assert.deepEqual(
        counts.map((r) => r.n),
        [30, 30],
        'every handler’s update committed once',
      );
    });
  }

  it('with groupCommit: false, one transaction per event', async () => {
    const topic = await createTopic(1);
    const Def = Step(topic);
    const messages = Array.from({ length: 20 }, (_, i) =>
      eventMessage(topic, Def.type, { key: `k${i}`, seq: i }, { key: `k${i}` }),
    );
    await transport.publish(messages);
    const consumer = oneAtATime({ groupCommit: false });
    consumer.on(Def, async (event, { tx }) => record(tx as never, event));
    await consumer.start();
    try {
      await waitFor('every event', () => consumer.stats().handled === 20, 60_000);
      assert.equal(consumer.stats().groupsAtOnce, null, 'no group transactions to limit');
    } finally {
      await consumer.stop();
    }
    const rows = await effects(messages.map((m) => m.id));
    assert.equal(new Set(rows.map((r) => r.txid)).size, 20);
  });
});

describe('consumers: several handlers for one event type', () => {
  const fixture = consumerFixture();
  const { transport } = fixture;

  it('runs them in registration order in one transaction, each once in effect', async () => {
    const topic = await createTopic(2);
    const Def = Step(topic);
    const group = uniqueName('g');
    const messages = Array.from({ length: 10 }, (_, i) =>
      eventMessage(topic, Def.type, { key: `k${i % 3}`, seq: i }, { key: `k${i % 3}` }),
    );
    await transport.publish(messages);
    const failOnce = messages[4]?.id as string;
    let failed = false;
    const write =
      (handler: string) =>
      async (event: { id: string; payload: { key: string; seq: number } }, { tx }: { tx: unknown }) => {
        await (tx as { query: (s: string, p: unknown[]) => Promise<unknown> }).query(
          `INSERT INTO ${fixture.effects} (event_id, key, seq, payload)
         VALUES ($1, $2, $3, jsonb_build_object('handler', $4::text, 'txid', txid_current()))`,
          [event.id, event.payload.key, event.payload.seq, handler],
        );
      };
    const first = createConsumer({ transport, group, db: fixture.db.pool, schema: fixture.db.schema });
    first.on(Def, write('stock'));
    first.on(
      Def,
      async (event, context) => {
        await write('ledger')(event, context);
        // The second handler fails once: both are rolled back and run again, together.
        if (event.id === failOnce && !failed) {
          failed = true;
          throw new Error('ledger busy');
        }
      },
      { name: 'ledger' },
    );
    assert.throws(
      () => first.on(Def, write('again')),
      (e: unknown) => isHeraldError(e, 'HERALD_INVALID_CONFIG') && /name the next one/.test(e.message),
    );
    assert.throws(
      () => first.on(Def, write('again'), { name: 'ledger' }),
      (e: unknown) => isHeraldError(e, 'HERALD_INVALID_CONFIG') && /named ledger/.test(e.message),
    );
    await first.start();
    try {
      await waitFor('every event', () => first.stats().handled === 10, 60_000);
    } finally {
      await first.stop();
    }
    assert.ok(failed);
    const query = async () =>
      (
        await fixture.db.pool.query<{ event_id: string; handlers: string[]; txids: string[] }>(
          `SELECT event_id, array_agg(payload->>'handler' ORDER BY n) AS handlers,
                  array_agg(DISTINCT payload->>'txid') AS txids
           FROM ${fixture.effects} WHERE event_id = ANY($1) GROUP BY event_id`,
          [messages.map((m) => m.id)],
        )
      ).rows;
    let rows = await query();
    assert.equal(rows.length, 10);
    for (const r of rows) {
      assert.deepEqual(r.handlers, ['stock', 'ledger'], 'each handler once, in registration order');
      assert.equal(r.txids.length, 1, 'in one transaction');
    }

    // A handler added later, the same events delivered again: only the new one runs.
    await transport.publish(messages);
    const second = createConsumer({ transport, group, db: fixture.db.pool, schema: fixture.db.schema });
    second.on(Def, write('stock'));
    second.on(Def, write('ledger'), { name: 'ledger' });
    second.on(Def, write('audit'), { name: 'audit' });
    await second.start();
    try {
      await waitFor('the second deliveries', () => second.stats().handled === 10, 60_000);
    } finally {
      await second.stop();
    }
    assert.equal(second.stats().duplicates, 0, 'each delivery had a handler that had not run');
    rows = await query();
    for (const r of rows) assert.deepEqual(r.handlers, ['stock', 'ledger', 'audit']);
  });
});
