import type { Logger } from '../observe/logger.ts';
import type { Queryable } from '../store/db.ts';
import { loadCursors } from '../store/sql/cursors.ts';
import { acquireLeases, forgetRelay, heartbeat, type Lease, releaseLeases, renewLeases } from '../store/sql/leases.ts';
import { comparePositions, type Position } from '../store/sql/read-batch.ts';

export interface LeasingOptions {
  db: Queryable;
  schema: string;
  /** This relay instance. */
  id: string;
  shardCount: number;
  leaseMs: number;
  logger: Logger;
  /** Every shard to the first live relay, none to the others (the CDC source's one reader). */
  exclusive?: boolean;
}

/**
 * The shards one relay holds. Every live relay (a row in `relays`, kept by heartbeats) takes a
 * contiguous, equal range of shards by its rank among the live ids, so instances that join or
 * leave rebalance within a heartbeat or two; a shard whose holder died is taken once its lease
 * lapses. Holding a shard means: its lease at a known epoch and its cursor.
 */
export function createLeasing(options: LeasingOptions) {
  const { db, schema, id, shardCount, leaseMs, logger } = options;
  const held = new Map<number, string>(); // shard -> epoch
  const cursors = new Map<number, Position>();

  const drop = (shards: number[]) => {
    for (const shard of shards) {
      held.delete(shard);
      cursors.delete(shard);
    }
  };
  /** Shards no longer ours: dropped, and said why. */
  const lose = (shards: number[], why: string) => {
    if (shards.length === 0) return;
    logger.warn({ shards }, why);
    drop(shards);
  };
  const leases = (): Lease[] => [...held].map(([shard, epoch]) => ({ shard, epoch }));

  return {
    held,
    leases,
    shards: () => [...held.keys()].sort((a, b) => a - b),
    holdsAll: () => held.size === shardCount,

    /** Where reading resumes: the lowest cursor of the shards held. */
    position(): Position | undefined {
      let lowest: Position | undefined;
      for (const c of cursors.values()) if (!lowest || comparePositions(c, lowest) < 0) lowest = c;
      return lowest;
    },

    /** Whether a row of `shard` at `at` is past that shard's cursor (not yet published). */
    isNew(shard: number, at: Position): boolean {
      const c = cursors.get(shard);
      return c !== undefined && comparePositions(at, c) > 0;
    },

    /** Heartbeat, give back what is no longer ours to hold, take what is, load new cursors. */
    async rebalance(): Promise<void> {
      const live = await heartbeat(db, schema, id, leaseMs);
      const rank = Math.max(0, live.indexOf(id));
      const n = Math.max(1, live.length);
      const desired = Array.from({ length: shardCount }, (_, s) => s).filter((s) =>
        options.exclusive ? rank === 0 : Math.floor((s * n) / shardCount) === rank,
      );
      const wanted = new Set(desired);
      const giveBack = [...held.keys()].filter((s) => !wanted.has(s));
      if (giveBack.length > 0) {
        await releaseLeases(db, schema, id, giveBack);
        drop(giveBack);
      }
      const got = await acquireLeases(db, schema, id, desired, leaseMs);
      const gotShards = new Set(got.map((l) => l.shard));
      const lost = [...held.keys()].filter((s) => !gotShards.has(s));
      drop(lost);
      const fresh = got.filter((l) => held.get(l.shard) !== l.epoch);
      for (const l of got) held.set(l.shard, l.epoch);
      if (fresh.length > 0) {
        for (const [shard, c] of await loadCursors(
          db,
          schema,
          fresh.map((l) => l.shard),
        ))
          cursors.set(shard, c);
      }
      if (fresh.length > 0 || giveBack.length > 0 || lost.length > 0) {
        logger.info(
          { relays: n, held: held.size, taken: fresh.length, released: giveBack.length, lost: lost.length },
          'shard leases changed',
        );
      }
    },

    /**
     * Extends the leases held; run on its own timer so a long publish does not let them lapse. A
     * lease it cannot extend lapsed or went to another relay (this one was paused or cut off past
     * it): its shard is dropped at once, not at the next heartbeat, which a publish being retried
     * can hold back for long. Only at the epoch renewed: one taken again meanwhile stays.
     */
    async renew(): Promise<void> {
      const extending = leases();
      const renewed = new Set(await renewLeases(db, schema, id, extending, leaseMs));
      const gone = extending.filter((l) => !renewed.has(l.shard) && held.get(l.shard) === l.epoch).map((l) => l.shard);
      lose(gone, 'lost shard leases (lapsed, or taken by another relay); no longer publishing them');
    },

    /** After every message up to `to` was acknowledged or dead-lettered: the cursors held move there. */
    advance(to: Position): void {
      for (const [shard, c] of cursors) if (comparePositions(c, to) < 0) cursors.set(shard, to);
    },

    /** After the cursors were saved: drop the shards whose lease was lost to another relay. */
    lost(shards: number[]): void {
      lose(shards, 'lost shard leases to another relay; no longer publishing them');
    },

    /** On stop: give every shard back at once, so others need not wait for the leases to lapse. */
    async releaseAll(): Promise<void> {
      await releaseLeases(db, schema, id, [...held.keys()]);
      await forgetRelay(db, schema, id);
      drop([...held.keys()]);
    },
  };
}

export type Leasing = ReturnType<typeof createLeasing>;
