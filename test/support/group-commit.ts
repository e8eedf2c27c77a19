import type { Consumer } from '../../src/index.ts';
import type { TestSchema } from './env.ts';
import { waitFor } from './relay-process.ts';

type Tx = { query: (sql: string, params: unknown[]) => Promise<unknown> };

/**
 * What the group-commit tests read and write, over a consumer fixture: an effect row per handler
 * call that names its transaction, the effects and dead letters of some events, and a consumer
 * run until it has settled a number of messages.
 */
export function groupCommitHelpers(fixture: { db: TestSchema; effects: string }) {
  return {
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
    /** Starts the consumer, waits until `n` messages are handled or dead-lettered, and stops it. */
    async settle(consumer: Pick<Consumer, 'start' | 'stop' | 'stats'>, n: number, timeoutMs = 60_000) {
      await consumer.start();
      try {
        await waitFor('every event', () => consumer.stats().handled + consumer.stats().deadLettered === n, timeoutMs);
      } finally {
        await consumer.stop();
      }
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
  };
}
