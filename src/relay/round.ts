import type { Logger } from '../observe/logger.ts';
import type { MetricsRecorder } from '../observe/metrics.ts';
import type { Queryable } from '../store/db.ts';
import { advanceCursors } from '../store/sql/cursors.ts';
import { insertDeadLetter } from '../store/sql/dead-letters.ts';
import { comparePositions, type LogRow, type Position, readBatch } from '../store/sql/read-batch.ts';
import type { OutgoingMessage, Transport } from '../transports/transport.ts';
import { toMessage } from '../wire/outgoing.ts';
import type { TopicStrategy } from '../wire/topics.ts';
import type { Attempt } from './attempts.ts';
import type { Leasing } from './leasing.ts';
import type { RelayStats } from './relay.ts';

export interface RoundDeps {
  pool: Queryable;
  schema: string;
  transport: Transport;
  topicFor: TopicStrategy;
  batchSize: number;
  maxAttempts: number;
  onFailure: 'dead-letter' | 'block';
  leasing: Leasing;
  stats: RelayStats;
  attempt: Attempt;
  logger: Logger;
  metrics: MetricsRecorder;
}

/**
 * One round of the relay: read the next batch of the shards held (gapless, in log order),
 * publish it, and advance their cursors once every message is acknowledged or dead-lettered.
 * Returns the rows read (0: nothing committed yet), or null when the relay stopped mid-round.
 */
export function createRound(deps: RoundDeps) {
  const { pool, schema, transport, leasing, stats, attempt, logger, maxAttempts } = deps;
  const closeTransport = () => transport.close();

  /**
   * A message the broker will not take: publish the batch one message at a time, in order; a
   * message that fails for good goes to dead letters and its shard moves on.
   */
  const publishOneByOne = async (rows: LogRow[], messages: OutgoingMessage[], priorAttempts: number) => {
    for (const [i, message] of messages.entries()) {
      const row = rows[i] as LogRow;
      const firstFailedAt = new Date();
      const one = await attempt('publish', () => transport.publish([message]), {
        onError: closeTransport,
        attempts: Math.max(1, maxAttempts - priorAttempts),
      });
      if (one.ok) continue;
      if (one.stopped) return false;
      const { error } = one;
      const attempts = one.failures + priorAttempts;
      const saved = await attempt('dead letter', () =>
        insertDeadLetter(pool, schema, row, message.topic, error, attempts, firstFailedAt),
      );
      if (!saved.ok) return false;
      stats.deadLettered++;
      const labels = { transport: transport.name, destination: message.topic, outcome: 'dead_lettered' };
      deps.metrics.add('relayPublished', labels, 1);
      stats.failures = 0;
      stats.state = 'running';
      logger.warn(
        { id: row.id, type: row.type, key: row.partition_key, topic: message.topic, code: error.code, attempts },
        'event dead-lettered; its shard moves on (herald dlq list)',
      );
    }
    return true;
  };

  /**
   * Publishes rows in order and, for a gapless read (`advance`), moves the cursors to the last.
   * The CDC source publishes in commit order, which is not the cursors' order: it moves them by
   * checkpoints instead (advanceTo).
   */
  const publish = async (rows: LogRow[], advance = true) => {
    // After a takeover, reading starts at the lowest cursor held: rows of other shards up to
    // their own cursors were published already and are skipped.
    const fresh = rows.filter((row) => leasing.isNew(row.shard, row));
    const messages = fresh.map((row) => toMessage(row, deps.topicFor));
    // A batch publishes whole or is retried whole: duplicates are possible, loss is not. With the
    // dead-letter policy, an error that is not "broker unreachable" is retried a few times, then
    // the batch is taken apart to find the message at fault.
    if (messages.length > 0) {
      const whole = await attempt('publish', () => transport.publish(messages), {
        onError: closeTransport,
        ...(deps.onFailure === 'dead-letter' ? { attempts: Math.min(3, maxAttempts) } : {}),
      });
      if (!whole.ok) {
        if (whole.stopped) return false;
        if (!(await publishOneByOne(fresh, messages, whole.failures))) return false;
      }
    }
    const last = rows[rows.length - 1] as LogRow;
    // The cursors move only after every message of the batch was acknowledged (or dead-lettered).
    // They are saved behind, by saveCursors: a relay that dies republishes at most what it
    // published since the last save (duplicates, never loss).
    if (advance) advanceTo({ xid: last.xid, seq: last.seq });
    stats.published += fresh.length;
    stats.batches++;
    return true;
  };

  /** Every row up to `to` is published: the cursors held move there, to be saved behind. */
  const advanceTo = (to: Position) => {
    leasing.advance(to);
    unsaved = to;
    stats.position = leasing.position() ?? to;
  };

  /** The rows after `from`, or null when the relay stopped while retrying the read. */
  const readInTurn = async (from: Position, shards: number[] | null): Promise<LogRow[] | null> => {
    let rows: LogRow[] = [];
    const read = await attempt('read', async () => {
      rows = await readBatch(pool, schema, from, deps.batchSize, shards);
    });
    return read.ok ? rows : null;
  };

  let unsaved: Position | null = null;
  let ahead: { from: Position; key: string; rows: Promise<LogRow[] | null> } | null = null;
  let savedAt = Date.now();

  return {
    /** Publishes rows as they are (CDC: commit order); false when the relay stopped meanwhile. */
    publishRows: (rows: LogRow[]) => publish(rows, false),
    advanceTo,

    /** Milliseconds since the cursors were last saved, 0 when nothing is waiting to be saved. */
    unsavedMs: () => (unsaved === null ? 0 : Date.now() - savedAt),

    /**
     * Saves how far publishing has come, for the shards whose lease is still ours at the same
     * epoch; shards found lost are dropped. False if the relay stopped while retrying.
     */
    async saveCursors(): Promise<boolean> {
      const to = unsaved;
      if (to === null) return true;
      let lost: number[] = [];
      const saved = await attempt('cursor update', async () => {
        lost = await advanceCursors(pool, schema, stats.instanceId, leasing.leases(), to);
      });
      if (!saved.ok) return false;
      if (unsaved === to) unsaved = null;
      savedAt = Date.now();
      leasing.lost(lost);
      return true;
    },

    /** At stop, after the loop ended: one try to save, so the next relay starts where this one got. */
    async saveOnStop(): Promise<void> {
      const to = unsaved;
      if (to === null) return;
      try {
        await advanceCursors(pool, schema, stats.instanceId, leasing.leases(), to);
        unsaved = null;
      } catch (error) {
        logger.warn({ error }, 'cursors not saved at stop; the next relay republishes from the last save');
      }
    },

    /** Reads after `from`, publishes and advances once; the rows read, or null if the relay stopped. */
    async run(from: Position): Promise<number | null> {
      stats.position = from;
      const shards = leasing.holdsAll() ? null : stats.shards;
      const key = shards === null ? '*' : shards.join(',');
      // The batch read while the previous one was being published, if it starts where this
      // round does and covers the same shards (a rebalance in between makes it useless).
      const prefetched = ahead && ahead.key === key && comparePositions(ahead.from, from) === 0 ? ahead.rows : null;
      ahead = null;
      const batch = (await prefetched) ?? (await readInTurn(from, shards));
      if (batch === null) return null;
      if (batch.length === 0) return 0;
      if (batch.length === deps.batchSize) {
        // A full batch: more is likely waiting. Read the next one while this one is published,
        // so the database and the broker work at the same time instead of taking turns. A read
        // that fails is simply done again, in turn, by the next round.
        const last = batch[batch.length - 1] as LogRow;
        const next = { xid: last.xid, seq: last.seq };
        ahead = {
          from: next,
          key,
          rows: readBatch(pool, schema, next, deps.batchSize, shards).catch(() => null),
        };
      }
      return (await publish(batch)) ? batch.length : null;
    },

    /** Waits for a read still running ahead (at stop: its connection goes back to the pool). */
    async settle(): Promise<void> {
      await ahead?.rows;
      ahead = null;
    },
  };
}
