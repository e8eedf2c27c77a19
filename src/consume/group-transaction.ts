import { throwIfAborted, throwIfKnownAborted } from '../store/aborted.ts';
import type { Queryable } from '../store/db.ts';
import { type Claimed, freshMessages, type Handled, type Item } from './claim.ts';
import type { GroupTiming, Settled } from './group.ts';
import { Released } from './released.ts';

/** What a group's transaction needs from the pipeline around it. */
export interface GroupTransactionContext {
  /** A transaction of the user's client (`native`), with Herald's port to it (`tx`). */
  transaction: <T>(fn: (native: unknown, tx: Queryable) => Promise<T>) => Promise<T>;
  claim: (tx: Queryable, items: readonly Item[]) => Promise<(Claimed | null)[]>;
  /**
   * Runs the item's handlers that its claim lets run ('duplicate' when none may); for a run of a
   * key's messages, each message's, one after another, with an outcome per message.
   */
  runHandlers: (native: unknown, tx: Queryable, item: Item, attempt: number, claimed: Claimed) => Promise<Handled>;
  signal: AbortSignal;
  /** SET LOCAL lock_timeout for the group's transaction; 0 leaves the server's. */
  lockTimeoutMs: number;
  /** The handlers of a group start at once, so a pipelining connection sends their statements together. */
  pipeline: boolean;
}

/** A handler of a group run without savepoints threw: the transaction rolls back, the group runs again. */
class FailedInGroup {
  readonly index: number;
  readonly error: unknown;
  constructor(index: number, error: unknown) {
    this.index = index;
    this.error = error;
  }
}

/**
 * Group commit's transaction: the handlers of several events in one transaction, the claims of
 * all of them made together. An item is one event, or a run of one key's events (which fails as
 * a whole, split by the caller: handle-run.ts). A handler that throws fails only its own item: the
 * rest commit together. The group runs first without savepoints (one costs a round trip per event, and a
 * subtransaction); if a handler throws, that transaction rolls back and the group runs again
 * with each event's handlers inside a savepoint, the one that threw settled with its error and
 * not run again. The events before it run twice, once in effect: the first run rolled back.
 */
export function createGroupTransaction(ctx: GroupTransactionContext) {
  const { signal } = ctx;

  async function groupTransaction(
    items: Item[],
    failed: FailedInGroup | null,
    timing: GroupTiming,
  ): Promise<Settled<Handled>[]> {
    const savepoints = failed !== null;
    return ctx.transaction(async (native, tx) => {
      // From here the group has its connection: a pool opening one (while a consumer starts, tens
      // of ms each on busy cores) is not what the group costs.
      timing.connectedAt ??= performance.now();
      // Groups holding several events' locks block each other (and deadlock) where single events
      // would not: a lock waited on for long sends its event to run alone instead. Pipelined: sent
      // with the claim, without waiting for its answer in between.
      const setLimit = () => (ctx.lockTimeoutMs > 0 ? tx.query(`SET LOCAL lock_timeout = ${ctx.lockTimeoutMs}`) : null);
      const claiming = items.filter((_, k) => k !== failed?.index);
      const claim = () => ctx.claim(tx, claiming);
      const [, claims] = ctx.pipeline ? await Promise.all([setLimit(), claim()]) : [await setLimit(), await claim()];
      // Duplicates run no handler: the handlers' time is counted per message that ran them (over
      // both runs of a group that failed once, as the time is).
      let handled = 0;
      for (const [k, claimed] of claims.entries()) if (claimed) handled += freshMessages(claiming[k] as Item, claimed);
      timing.handled = (timing.handled ?? 0) + handled;
      if (ctx.pipeline && !savepoints) return sideBySide(native, tx, items, claims, timing);
      const settled: Settled<Handled>[] = [];
      for (const [k, item] of items.entries()) {
        if (k === failed?.index) {
          settled.push({ ok: false, error: failed.error });
          continue;
        }
        const claimed = claims.shift() as Claimed | null;
        // Stopping: what has not started is released (its claim taken back), the rest commits.
        if (signal.aborted) {
          await claimed?.unclaim();
          settled.push({ ok: false, error: new Released() });
          continue;
        }
        if (!claimed) {
          settled.push({ ok: true, value: 'duplicate' });
          continue;
        }
        if (savepoints) await tx.query('SAVEPOINT herald_event');
        const started = performance.now();
        try {
          const value = await ctx.runHandlers(native, tx, item, 1, claimed);
          timing.handlersMs += performance.now() - started;
          throwIfKnownAborted(native, tx);
          settled.push({ ok: true, value });
        } catch (error) {
          timing.handlersMs += performance.now() - started;
          if (!savepoints) throw new FailedInGroup(k, error);
          // Rolling back to the savepoint revives the transaction: the rest of the group goes on.
          await tx.query('ROLLBACK TO SAVEPOINT herald_event');
          await claimed.unclaim();
          settled.push({ ok: false, error });
        }
      }
      // Where the client cannot say (an ORM's transaction), a failed transaction shows here or at
      // the next SAVEPOINT: the whole group then fails, and each event is tried alone.
      await throwIfAborted(native, tx);
      return settled;
    });
  }

  /**
   * The first run of a pipelined group: every claimed event's handlers start at once (their keys
   * differ), and the group settles only when all of them have, so no statement of a handler can
   * reach the server after the transaction ended. The first handler to fail is the one at fault:
   * a failed statement aborts the transaction, and the others' statements behind it fail after it.
   */
  async function sideBySide(
    native: unknown,
    tx: Queryable,
    items: Item[],
    claims: (Claimed | null)[],
    timing: GroupTiming,
  ): Promise<Settled<Handled>[]> {
    if (signal.aborted) {
      await Promise.all(claims.map((c) => c?.unclaim()));
      return items.map(() => ({ ok: false, error: new Released() }));
    }
    let first: FailedInGroup | null = null;
    const started = performance.now();
    const settled = await Promise.all(
      items.map(async (item, k): Promise<Settled<Handled>> => {
        const claimed = claims[k];
        if (!claimed) return { ok: true, value: 'duplicate' };
        try {
          return { ok: true, value: await ctx.runHandlers(native, tx, item, 1, claimed) };
        } catch (error) {
          first ??= new FailedInGroup(k, error);
          return { ok: false, error };
        }
      }),
    );
    timing.handlersMs += performance.now() - started;
    if (first !== null) throw first;
    // A handler that swallowed a failed statement's error: which one is unknown, so the whole
    // group fails and each event is tried alone.
    await throwIfAborted(native, tx);
    return settled;
  }

  return async function runGroup(items: Item[], timing: GroupTiming): Promise<Settled<Handled>[]> {
    try {
      return await groupTransaction(items, null, timing);
    } catch (error) {
      if (!(error instanceof FailedInGroup)) throw error;
      return groupTransaction(items, error, timing);
    }
  };
}
