import assert from 'node:assert/strict';
import type { Consumer } from '../../src/index.ts';
import type { TestSchema } from './env.ts';
import type { stepEvent } from './kill-at-ack.ts';
import { waitFor } from './relay-process.ts';

type Tx = { query: (sql: string, params: unknown[]) => Promise<unknown> };

/**
 * What the group-commit tests read and write, over a consumer fixture: an effect row per handler
 * call that names its transaction, the effects and dead letters of some events, and a consumer
 * run until it has settled a number of messages.
 */
export function groupCommitHelpers(fixture: { db: TestSchema; effects: string }) {
  const helpers = {
    /** Writes one effect row: which handler, in which transaction. */
    async record(tx: Tx, event: { id: string; payload: { key: string; seq: number } }, handler = 'main') {
      await tx.query(
        `INSERT INTO ${fixture.effects} (event_id, key, seq, payload)
         VALUES ($1, $2, $3, jsonb_build_object('handler', $4::text, 'txid', txid_current()))`,
        [event.id, event.payload.key, event.payload.seq, handler],
      );
    },
    /** The effects of these events, in commit order. */
    async effects(ids: string[]) {
      const { rows } = await fixture.db.pool.query<{
        event_id: string;
        handler: string;
        txid: string;
        n: string;
        seq: number;
      }>(
        `SELECT event_id, payload->>'handler' AS handler, payload->>'txid' AS txid, n, seq FROM ${fixture.effects}
         WHERE event_id = ANY($1) ORDER BY n`,
        [ids],
      );
      return rows;
    },
    /**
     * Starts the consumer, waits until `n` messages are handled or dead-lettered (with
     * `duplicates`, skipped as duplicates too: `n` deliveries), and stops it.
     */
    async settle(
      consumer: Pick<Consumer, 'start' | 'stop' | 'stats'>,
      n: number,
      { timeoutMs = 60_000, duplicates = false } = {},
    ) {
      await consumer.start();
      try {
        await waitFor(
          duplicates ? 'every delivery' : 'every event',
          () => {
            const s = consumer.stats();
            return s.handled + s.deadLettered + (duplicates ? s.duplicates : 0) === n;
          },
          timeoutMs,
        );
      } finally {
        await consumer.stop();
      }
    },
    /**
     * Makes the database refuse the dead letters of these messages (a trigger), until `allow`;
     * `drop` takes the trigger away.
     */
    async refuseDeadLetters(ids: string[]) {
      const s = `"${fixture.db.schema}"`;
      await fixture.db.pool.query(`CREATE TABLE ${s}.refusing (message_id text);
        CREATE FUNCTION ${s}.refuse_dead_letters() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.message_id IN (SELECT message_id FROM ${s}.refusing) THEN
            RAISE EXCEPTION 'dead letters refused by the test';
          END IF;
          RETURN NEW;
        END $$;
        CREATE TRIGGER refuse BEFORE INSERT ON ${s}.consumer_dead_letters FOR EACH ROW EXECUTE FUNCTION ${s}.refuse_dead_letters();`);
      await fixture.db.pool.query(`INSERT INTO ${s}.refusing SELECT unnest($1::text[])`, [ids]);
      return {
        allow: async () => {
          await fixture.db.pool.query(`DELETE FROM ${s}.refusing`);
        },
        drop: async () => {
          await fixture.db.pool.query(
            `DROP TRIGGER refuse ON ${s}.consumer_dead_letters; DROP TABLE ${s}.refusing; DROP FUNCTION ${s}.refuse_dead_letters()`,
          );
        },
      };
    },
    /** The dead letters recorded for these messages, with their reasons. */
    async deadLetters(ids: string[]) {
      const { rows } = await fixture.db.pool.query<{
        message_id: string;
        attempts: number;
        error_code: string;
        error_message: string;
      }>(
        `SELECT message_id, attempts, error_code, error_message FROM "${fixture.db.schema}".consumer_dead_letters
         WHERE message_id = ANY($1)`,
        [ids],
      );
      return rows;
    },
    /**
     * Runs `ids` (step events, two attempts allowed by the consumer's retry) with a handler that
     * fails once on `flaky` and always on `poison`, and asserts what a run promises: the thrower
     * tried in its run then alone, that try counted, nothing else run twice. Returns the effects.
     */
    async withThrowers(
      consumer: Consumer,
      Def: ReturnType<typeof stepEvent>,
      ids: string[],
      flaky: string,
      poison: string,
    ) {
      const calls = new Map<string, number[]>();
      consumer.on(Def, async (event, { tx, attempt }) => {
        calls.set(event.id, [...(calls.get(event.id) ?? []), attempt]);
        await helpers.record(tx as never, event);
        if (event.id === poison || (event.id === flaky && attempt === 1)) throw new Error('not yet');
      });
      await helpers.settle(consumer, ids.length);
      const rows = await helpers.effects(ids);
      assert.equal(rows.length, ids.length - 1, 'every message but the poison one');
      assert.equal(new Set(rows.map((r) => r.event_id)).size, ids.length - 1, 'no effect twice');
      assert.ok(!rows.some((r) => r.event_id === poison), "the poison message's effect rolled back");
      assert.deepEqual(calls.get(flaky), [1, 2], 'tried in its run, then alone');
      assert.deepEqual(calls.get(poison), [1, 2], 'the try in the run counts: two attempts allowed, two calls');
      const dead = await helpers.deadLetters([poison]);
      assert.equal(dead.length, 1);
      assert.equal(dead[0]?.attempts, 2);
      return rows;
    },
    /**
     * Runs `ids` (step events, one attempt allowed) with a handler that always fails on `earlier`
     * and on `poison`, while the database refuses `poison`'s dead letter: once it has been tried
     * three times, `whileHeld` looks, then the refusal ends. Asserts that nothing was lost or run
     * twice, and returns the effects.
     */
    async withRefusedDeadLetter(
      consumer: Consumer,
      Def: ReturnType<typeof stepEvent>,
      ids: string[],
      earlier: string,
      poison: string,
      whileHeld: () => Promise<void>,
    ) {
      const refusal = await helpers.refuseDeadLetters([poison]);
      try {
        const calls = new Map<string, number>();
        consumer.on(Def, async (event, { tx }) => {
          calls.set(event.id, (calls.get(event.id) ?? 0) + 1);
          await helpers.record(tx as never, event);
          if (event.id === poison || event.id === earlier) throw new Error('poison');
        });
        await consumer.start();
        try {
          await waitFor('the poison message tried again', () => (calls.get(poison) ?? 0) >= 3, 30_000);
          await whileHeld();
          await refusal.allow();
          await waitFor('every message', () => consumer.stats().handled + consumer.stats().deadLettered === ids.length);
        } finally {
          await consumer.stop();
        }
        const rows = await helpers.effects(ids);
        assert.equal(rows.length, ids.length - 2, 'every message but the two poison ones');
        assert.equal(new Set(rows.map((r) => r.event_id)).size, ids.length - 2, 'no effect twice');
        const dead = await helpers.deadLetters([earlier, poison]);
        assert.equal(dead.length, 2);
        assert.equal(calls.get(earlier), 1, 'the message dead-lettered before the refusal was not run again');
        assert.equal(dead.find((d) => d.message_id === earlier)?.attempts, 1);
        assert.equal(consumer.stats().duplicates, 0, 'nothing handled was run again while held');
        return rows;
      } finally {
        await refusal.drop();
      }
    },
  };
  return helpers;
}
