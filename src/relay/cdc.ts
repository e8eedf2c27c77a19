import type { Logger } from '../observe/logger.ts';
import { guardCheckedOut, type PoolLike } from '../store/connect.ts';
import { ensurePublication, ensureSlot, lsnValue, replicationNames, walCheckpoint } from '../store/replication.ts';
import { newestLoggedXid } from '../store/sql/cursors.ts';
import type { Attempt } from './attempts.ts';
import type { Leasing } from './leasing.ts';
import type { RelayStats } from './relay.ts';
import type { createRound } from './round.ts';
import { slotAcks } from './slot-acks.ts';
import { openWalStream, type WalStream } from './wal-stream.ts';

const maxSeq = '9223372036854775807';

export interface CdcDeps {
  pool: PoolLike;
  schema: string;
  /** node-postgres client settings for the replication connection. */
  connection: Record<string, unknown>;
  round: ReturnType<typeof createRound>;
  leasing: Leasing;
  stats: RelayStats;
  attempt: Attempt;
  logger: Logger;
  signal: AbortSignal;
  batchSize: number;
  pollMs: number;
  cursorMs: number;
  leaseMs: number;
  /** Heartbeat and rebalance when due; false when the relay stopped. */
  beat(): Promise<boolean>;
  msUntilBeat(): number;
  idle(ms: number): Promise<void>;
  /** drain() callers waiting now. */
  waiting(): number;
  /** The first `count` drain() callers: everything committed before they called is published. */
  caughtUp(count?: number): void;
  /** This relay holds no shard (a standby): drain() callers are told once that lasts. */
  holdsNothing(): void;
}

/**
 * The CDC source: the log's inserts from a logical replication slot (pgoutput), in commit order,
 * published as they commit, with no polling. One relay streams (the slot allows one reader): the
 * first of the live relays takes every shard, the others wait as standbys and take over when its
 * leases lapse.
 *
 * Positions: the slot is acknowledged only up to the last transaction the broker acknowledged,
 * every cursorMs and when the stream closes, so a relay that dies resumes at most that much before
 * it (table-less events of that interval are sent again; log rows above the saved cursors are read
 * again at start, and the stream's repeats of them are skipped by position). The cursors, which a
 * gapless read needs, move by checkpoints: `(xmin, lsn)` read together from the server; once the
 * stream has passed `lsn`, every transaction below `xmin` is published, so the cursors move to
 * just below it. Each time the stream starts (at start-up, after a failure, when the slot was
 * dropped or made again) the log is first read from the cursors as the polling source does: a
 * slot that missed events never makes them missing; what both saw is skipped by position or, at
 * worst, sent twice.
 */
export async function runCdc(d: CdcDeps): Promise<void> {
  const { round, leasing, logger, signal } = d;
  const names = replicationNames(d.schema);
  let stream: WalStream | null = null;
  let streamed = 0n;
  // `waiters`: drain() callers already waiting when it was read, told when the stream passes it.
  let checkpoint: { lsn: bigint; xmin: bigint; waiters: number } | null = null;
  let checkpointAt = 0;
  // Only log rows need the cursors to move: a checkpoint is due while a log row was streamed that
  // the cursors do not cover (xid at or above the last checkpoint's xmin). In table-less mode
  // there is none, and the relay spends no query on the cursors after each stream's start.
  let newestLogXid = -1n;
  let coveredBelow = 0n;
  // The slot is acknowledged behind publishing, as the cursors are saved: at most every cursorMs,
  // and before the stream closes. One acknowledgement per batch was a fifth of the walsender's CPU
  // at 1,000 events/s (docs/benchmarks.md).
  let acks = slotAcks(d.cursorMs);
  const acknowledge = async (live: WalStream, lsn: string) => {
    const send = acks.offer(lsn);
    if (send !== null) await live.acknowledge(send);
  };
  const close = async () => {
    // Published, so done with, even when the stream failed (then the server does not hear it).
    const left = acks.flush();
    if (stream && left !== null) await stream.acknowledge(left).catch(() => {});
    await stream?.close();
    stream = null;
  };

  // Where the slot stands when a stream opens: replies and acknowledgements never go below it.
  let slotAt = '0/0';
  /** Slot and publication, then the log read from the cursors up to now; false when stopped. */
  const start = async (): Promise<boolean> => {
    const ready = await d.attempt('replication slot', async () => {
      const client = await d.pool.connect();
      const unguard = guardCheckedOut(client);
      try {
        await ensurePublication(client, d.schema);
        const slot = await ensureSlot(client, d.schema, d.leaseMs);
        if (slot.created) logger.info({ slot: names.slot }, 'replication slot created');
        slotAt = slot.confirmedLsn ?? '0/0';
      } finally {
        unguard();
        client.release();
      }
    });
    if (!ready.ok) return false;
    const before = d.stats.published;
    for (;;) {
      const from = leasing.position();
      if (!from) return true;
      const read = await round.run(from);
      if (read === null) return false;
      if (read === 0) break;
    }
    if (!(await round.saveCursors())) return false;
    logger.info({ published: d.stats.published - before, from: leasing.position() }, 'read the log from the cursors');
    let opened: WalStream | null = null;
    const open = await d.attempt('replication stream', async () => {
      opened = await openWalStream({
        connection: d.connection,
        slot: names.slot,
        publication: names.publication,
        schema: d.schema,
        acknowledged: slotAt,
      });
    });
    if (!open.ok) return false;
    stream = opened;
    acks = slotAcks(d.cursorMs, slotAt);
    // Log rows a previous stream published while an older transaction held the cursors back are
    // neither read above (only xids under the read's xmin are) nor streamed again: checkpoints go
    // on until the cursors pass the newest row of the log (none in table-less mode). Read once
    // this relay streams, so no other reader can publish rows after it.
    const horizon = await d.attempt('log horizon', async () => {
      const xid = await newestLoggedXid(d.pool, d.schema);
      if (xid !== null && BigInt(xid) > newestLogXid) newestLogXid = BigInt(xid);
    });
    if (!horizon.ok) return false;
    streamed = 0n;
    checkpoint = null;
    logger.info({ slot: names.slot }, 'streaming the log from its replication slot');
    return true;
  };

  try {
    while (!signal.aborted) {
      if (d.msUntilBeat() <= 0 && !(await d.beat())) break;
      if (!leasing.holdsAll()) {
        // A standby, or handing over: the slot is the streaming relay's.
        await close();
        d.holdsNothing();
        await d.idle(Math.max(1, d.msUntilBeat()));
        continue;
      }
      if (stream === null) {
        if (!(await start())) break;
        continue;
      }
      const live: WalStream = stream;
      try {
        const txs = await live.take(d.batchSize, Math.max(1, Math.min(d.pollMs, d.msUntilBeat())));
        if (txs.length > 0) {
          if (!(await round.publishRows(txs.flatMap((t) => t.rows)))) break;
          const end = (txs[txs.length - 1] as { endLsn: string }).endLsn;
          if (lsnValue(end) > streamed) streamed = lsnValue(end);
          for (const t of txs) {
            const xid = t.logXid === null ? null : BigInt(t.logXid);
            if (xid !== null && xid > newestLogXid) newestLogXid = xid;
          }
          await acknowledge(live, end);
        } else {
          const idleAt = live.idleAt();
          if (idleAt !== null) {
            // Nothing waiting: what the server has sent so far is done with.
            if (lsnValue(idleAt) > streamed) streamed = lsnValue(idleAt);
            await acknowledge(live, idleAt);
          }
          // A checkpoint or a drain() waits for the stream to pass a position: on a quiet
          // database the server says how far it got only when asked.
          if (checkpoint !== null && streamed < checkpoint.lsn) await live.ping();
        }
      } catch (error) {
        logger.warn(
          { error, slot: names.slot },
          'replication stream failed; reading the log from the cursors, then streaming again',
        );
        await close();
        await d.idle(500);
        continue;
      }
      if (checkpoint !== null && streamed >= checkpoint.lsn) {
        round.advanceTo({ xid: (checkpoint.xmin - 1n).toString(), seq: maxSeq });
        coveredBelow = checkpoint.xmin;
        if (checkpoint.waiters > 0 && (await round.saveCursors())) d.caughtUp(checkpoint.waiters);
        checkpoint = null;
      }
      // A checkpoint every cursorIntervalMs while streamed log rows are not covered, or at once for
      // a drain() caller.
      const due = newestLogXid >= coveredBelow && Date.now() - checkpointAt >= d.cursorMs;
      if (checkpoint === null && (due || d.waiting() > 0)) {
        checkpointAt = Date.now();
        const waiters = d.waiting();
        const sample = await walCheckpoint(d.pool).catch(() => null);
        if (sample) checkpoint = { lsn: lsnValue(sample.lsn), xmin: BigInt(sample.xmin), waiters };
      }
      if (round.unsavedMs() >= d.cursorMs && !(await round.saveCursors())) break;
    }
  } finally {
    await close();
  }
}
