import type { Logger } from '../observe/logger.ts';
import type { Queryable } from '../store/db.ts';
import { committedUnpublished } from '../store/sql/cursors.ts';
import { openSlice } from '../store/sql/read-range.ts';
import type { Attempt } from './attempts.ts';

/**
 * The relay's drain() callers: each waits until what had committed by its call is published.
 * A polling relay keeps the server's snapshot at each call, since its read takes rows only below
 * the oldest transaction open anywhere in the server; the CDC source streams in commit order and
 * tells callers by position instead (cdc.ts).
 */
export function createDrainWaiters(deps: {
  pool: Queryable;
  schema: string;
  logger: Logger;
  attempt: Attempt;
  leaseMs: number;
  /** Keeps a snapshot per call: the polling source. */
  snapshots: boolean;
  /** The shards this relay holds now. */
  shards: () => number[];
  /** Wakes the relay's loop from its wait. */
  wake: () => void;
}) {
  let waiters: { tell: () => void; snapshot: string | null }[] = [];
  let heldNothingSince: number | null = null;
  let toldHeldBack = false;

  /** Tells the first `count` callers (all by default) that they are caught up. */
  const tell = (count = waiters.length) => {
    const told = waiters.slice(0, count);
    waiters = waiters.slice(count);
    for (const w of told) w.tell();
  };

  /**
   * Whether events committed before the first `count` calls still wait above the cursors, behind
   * a transaction older than them that is still open (the last of those calls saw the most
   * committed); null when the relay stopped. Logged once per wait.
   */
  const heldBack = async (count: number): Promise<boolean | null> => {
    const snapshot = waiters[count - 1]?.snapshot;
    if (!snapshot) return false;
    let pending = false;
    const outcome = await deps.attempt('drain check', async () => {
      pending = await committedUnpublished(deps.pool, deps.schema, deps.shards(), snapshot);
    });
    if (!outcome.ok) return null;
    if (pending && !toldHeldBack) {
      deps.logger.info(
        { shards: deps.shards().length },
        'drain: events committed before the call wait behind an older transaction still open; waiting for it to end',
      );
    }
    toldHeldBack = pending;
    return pending;
  };

  return {
    /** Callers waiting now. */
    waiting: () => waiters.length,
    tell,
    /** A new caller: resolves once what had committed by now is published. */
    async next(): Promise<void> {
      const snapshot = deps.snapshots ? (await openSlice(deps.pool)).snapshot : null;
      const caughtUp = new Promise<void>((resolve) => waiters.push({ tell: resolve, snapshot }));
      deps.wake();
      return caughtUp;
    },
    /**
     * A relay that holds no shard cannot drain: other relays hold them all. Said only once it has
     * held none for a lease period, not in the moment before its first leases are taken.
     */
    holdsNothing() {
      heldNothingSince ??= Date.now();
      if (Date.now() - heldNothingSince >= deps.leaseMs) tell();
    },
    holdsSome() {
      heldNothingSince = null;
    },
    /**
     * A read found nothing: the first `count` callers (those waiting when it began) are told,
     * unless events committed before their calls are held back. False when the relay stopped.
     */
    async readNothing(count: number): Promise<boolean> {
      const pending = await heldBack(count);
      if (pending === null) return false;
      if (!pending) tell(count);
      return true;
    },
  };
}
