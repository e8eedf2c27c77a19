import { HeraldError } from '../errors.ts';
import type { EventDefinition } from '../events/define.ts';
import type { Outbox } from '../outbox/outbox.ts';
import { isLockConflict } from '../retry/classify.ts';
import { retry } from '../retry/retry.ts';
import { throwIfAborted, throwIfKnownAborted } from '../store/aborted.ts';
import type { Queryable } from '../store/db.ts';
import { claimPositions, positionKey, unclaimPosition } from '../store/sql/consumer-offsets.ts';
import { claimInbox, claimInboxRows, type InboxRow, inboxKey, unclaimInboxRows } from '../store/sql/inbox.ts';
import { inTransactionScope } from '../store/transaction.ts';
import type { IncomingMessage } from '../transports/transport.ts';
import { type ConsumedEvent, decodeMessage, eventTime } from '../wire/incoming.ts';
import { createBatcher } from './batch.ts';
import type { GiveUp } from './dead-letter.ts';
import { emitter } from './emit.ts';
import { createGroupCommit, GroupFailed, type Settled } from './group.ts';
import { createSemaphore } from './ordering.ts';
import { Released } from './released.ts';
import type { BatchHandler, ConsumerContext, Handler } from './types.ts';
import { upcastAndParse } from './upcast.ts';

/** One of an event type's handlers: its name, and the inbox group its rows are kept under. */
export interface NamedHandler {
  /** null for the type's unnamed handler, whose inbox group is the consumer group itself. */
  name: string | null;
  inboxGroup: string;
  handler: Handler<unknown, unknown>;
}

export interface Route {
  definition: EventDefinition;
  /** The type's handlers, run in this order in one transaction, each with its own inbox row. */
  handlers?: NamedHandler[];
  batch?: { handler: BatchHandler<unknown, unknown>; size: number; maxWaitMs: number };
}

/** Handler attempts before a message is dead-lettered (default 5), and the backoff between them. */
export type RetryPolicy = ConsumerContext['retry'];

/** What becomes of a message: handled, skipped, or given up on (then the give-up path ran). */
export type Outcome = 'handled' | 'duplicate' | 'skipped' | 'failed';

export function createPipeline(
  deps: ConsumerContext & {
    routes: Map<string, Route>;
    onUnknownType: 'skip' | 'dead-letter';
    concurrency: number;
    prepared: boolean;
    outbox: Outbox;
    /** Where a handled message is recorded: inbox rows, or the group's position ('database'). */
    offsets: 'broker' | 'database';
    /** Handlers of several events in one transaction; false: one each. */
    groupCommit: { maxEvents: number; maxWaitMs: number; lockTimeoutMs: number } | false;
  },
) {
  const { schema, group, stats, logger, signal } = deps;
  /** A transaction of the user's client, ambient inside `fn`: `outbox.add(events)` writes in it. */
  const transaction = <T>(fn: (tx: unknown, port: Queryable) => Promise<T>): Promise<T> =>
    deps.transaction((tx, port) => inTransactionScope(tx, port, () => fn(tx, port)));
  const slots = createSemaphore(deps.concurrency);

  /**
   * Runs `attempt` in a concurrency slot until it succeeds (see retry/classify.ts): a failure is
   * retried in place with backoff up to the policy's attempts, an outage without limit; a
   * permanent failure (NonRetriableError, a payload that no longer validates) gives up at once.
   * Giving up hands the error to `giveUp`; a stop releases the message for redelivery.
   */
  async function withRetries(
    attempt: (n: number) => Promise<void>,
    giveUp: (e: unknown, n: number) => Promise<void>,
    failedFirst?: { error: unknown },
  ) {
    const outcome = await retry(
      async (n) => {
        // The first attempt already ran and failed (in a group): counted, then retried alone.
        if (n === 1 && failedFirst) throw failedFirst.error;
        if (signal.aborted) throw new Released();
        const release = await slots.acquire();
        try {
          // Stopped while waiting for a slot: not started, so released for redelivery.
          if (signal.aborted) throw new Released();
          await attempt(n);
        } finally {
          release();
        }
      },
      {
        signal,
        backoff: deps.retry,
        attempts: deps.retry.attempts,
        onError: (error, state) => {
          if (error instanceof Released) return;
          if (state.kind === 'outage') return deps.onOutage(error);
          if (state.kind === 'retriable' && state.failures < deps.retry.attempts) {
            stats.retries++;
            logger.debug({ error, attempt: state.failures }, 'handler failed; retrying');
          }
        },
        onRecovered: (state) => {
          if (state.outages > 0) deps.onRecovered();
        },
      },
    );
    if (outcome.ok) return;
    if (outcome.stopped || outcome.error instanceof Released) throw new Released();
    return giveUp(outcome.error, outcome.failures);
  }

  const inboxRows = (route: Route, event: ConsumedEvent): InboxRow[] =>
    (route.handlers ?? []).map((h) => ({
      group: h.inboxGroup,
      eventId: event.id,
      eventTime: eventTime(event),
      type: event.type,
    }));

  /**
   * Runs, in order, the handlers of one event whose inbox rows were new (`fresh`): 'duplicate'
   * when every one had already run.
   */
  async function runHandlers(
    native: unknown,
    tx: Queryable,
    route: Route,
    event: ConsumedEvent,
    m: IncomingMessage,
    attempt: number,
    fresh: (h: NamedHandler) => boolean,
  ): Promise<Outcome> {
    const handlers = (route.handlers ?? []).filter(fresh);
    if (handlers.length === 0) return 'duplicate';
    const emit = emitter(deps.outbox, tx);
    const context = {
      tx: native,
      emit: (events: Parameters<typeof emit>[1]) => emit(event, events),
      attempt,
      group,
      message: { topic: m.topic, partition: m.partition, offset: m.offset },
    };
    for (const h of handlers) await h.handler(event, context);
    return 'handled';
  }

  /**
   * What makes a second delivery a no-op: each handler's inbox row, or (offsets: 'database') the
   * group's stored position in the message's partition, moved past it. `claim` runs in the
   * transaction and says, per item, which handlers may run (none: a duplicate) and how to take
   * the claim back when the item's savepoint rolls back.
   */
  type Claimed = { runs: (h: NamedHandler) => boolean; unclaim: () => Promise<void> } | null;
  async function claim(tx: Queryable, items: readonly GroupItem[]): Promise<Claimed[]> {
    const rows = items.map((i) => (i.byPosition ? [] : inboxRows(i.route, i.event)));
    const all = rows.flat();
    const fresh =
      all.length === 1
        ? new Set(
            [...(await claimInbox(tx, schema, (all[0] as InboxRow).group, all, deps.prepared))].map((id) =>
              inboxKey((all[0] as InboxRow).group, id),
            ),
          )
        : all.length > 0
          ? await claimInboxRows(tx, schema, all, deps.prepared)
          : new Set<string>();
    const placed = items.filter((i) => i.byPosition).map((i) => i.message);
    const moved = placed.length > 0 ? await claimPositions(tx, schema, group, placed, deps.prepared) : new Set();
    return items.map((item, k) => {
      if (item.byPosition) {
        if (!moved.has(positionKey(item.message))) return null;
        return { runs: () => true, unclaim: () => unclaimPosition(tx, schema, group, item.message) };
      }
      // The same event twice in one group: its rows were claimed once, for the first copy.
      const mine = (rows[k] as InboxRow[]).filter((r) => fresh.delete(inboxKey(r.group, r.eventId)));
      if (mine.length === 0) return null;
      const ran = new Set(mine.map((r) => r.group));
      return { runs: (h) => ran.has(h.inboxGroup), unclaim: () => unclaimInboxRows(tx, schema, mine) };
    });
  }

  type GroupItem = { route: Route; event: ConsumedEvent; message: IncomingMessage; byPosition: boolean };

  /** The handlers and their claim in one transaction: a second delivery finds the claim and skips. */
  async function runOne(item: GroupItem, attempt: number): Promise<Outcome> {
    return transaction(async (native, tx) => {
      const [claimed] = await claim(tx, [item]);
      if (!claimed) return 'duplicate';
      const outcome = await runHandlers(native, tx, item.route, item.event, item.message, attempt, claimed.runs);
      await throwIfAborted(native, tx);
      return outcome;
    });
  }

  /**
   * Group commit: the handlers of several events in one transaction, the claims of all of them
   * made together. A handler that throws fails only its own event: the rest commit together. The
   * group runs first without savepoints (one costs a round trip per event, and a subtransaction);
   * if a handler throws, that transaction rolls back and the group runs again with each event's
   * handlers inside a savepoint, the one that threw settled with its error and not run again.
   */
  async function runGroup(items: GroupItem[]): Promise<Settled<Outcome>[]> {
    try {
      return await groupTransaction(items, null);
    } catch (error) {
      if (!(error instanceof FailedInGroup)) throw error;
      return groupTransaction(items, error);
    }
  }

  async function groupTransaction(items: GroupItem[], failed: FailedInGroup | null): Promise<Settled<Outcome>[]> {
    const savepoints = failed !== null;
    return transaction(async (native, tx) => {
      // Groups holding several events' locks block each other (and deadlock) where single events
      // would not: a lock waited on for long sends its event to run alone instead.
      const lockTimeoutMs = deps.groupCommit ? deps.groupCommit.lockTimeoutMs : 0;
      if (lockTimeoutMs > 0) await tx.query(`SET LOCAL lock_timeout = ${lockTimeoutMs}`);
      const claims = await claim(
        tx,
        items.filter((_, k) => k !== failed?.index),
      );
      const settled: Settled<Outcome>[] = [];
      for (const [k, item] of items.entries()) {
        if (k === failed?.index) {
          settled.push({ ok: false, error: failed.error });
          continue;
        }
        const claimed = claims.shift() as Claimed;
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
        try {
          const value = await runHandlers(native, tx, item.route, item.event, item.message, 1, claimed.runs);
          throwIfKnownAborted(native, tx);
          settled.push({ ok: true, value });
        } catch (error) {
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
  const groups = deps.groupCommit
    ? createGroupCommit<GroupItem, Outcome>({
        ...deps.groupCommit,
        slots,
        concurrency: deps.concurrency,
        signal,
        run: runGroup,
        contended: isLockConflict,
      })
    : null;

  const count = (outcome: Outcome, n = 1) => {
    if (outcome === 'handled') stats.handled += n;
    else if (outcome === 'duplicate') stats.duplicates += n;
  };

  type Item = { event: ConsumedEvent; message: IncomingMessage; giveUp: GiveUp };
  const batchers = new Map<string, ReturnType<typeof createBatcher<Item>>>();
  const batcherFor = (route: Route) => {
    const batch = route.batch as NonNullable<Route['batch']>;
    let batcher = batchers.get(route.definition.type);
    if (!batcher) {
      batcher = createBatcher<Item>({
        size: batch.size,
        maxWaitMs: batch.maxWaitMs,
        run: (items) => runBatch(route, items),
      });
      batchers.set(route.definition.type, batcher);
    }
    return batcher;
  };

  async function runBatch(route: Route, items: Item[]): Promise<Outcome[]> {
    const handler = (route.batch as NonNullable<Route['batch']>).handler;
    let outcomes: Outcome[] = [];
    const attempt = (n: number) =>
      transaction(async (native, tx) => {
        const fresh = await claimInbox(
          tx,
          schema,
          group,
          items.map((i) => ({ eventId: i.event.id, eventTime: eventTime(i.event), type: i.event.type })),
          deps.prepared,
        );
        // One event delivered twice in one batch is claimed once: the first copy is handled.
        const seen = new Set<string>();
        outcomes = items.map((i) => {
          const first = fresh.has(i.event.id) && !seen.has(i.event.id);
          seen.add(i.event.id);
          return first ? 'handled' : 'duplicate';
        });
        const events = items.filter((_, k) => outcomes[k] === 'handled').map((i) => i.event);
        if (events.length === 0) return;
        const emit = emitter(deps.outbox, tx);
        await handler(events, { tx: native, emit, attempt: n, group });
        await throwIfAborted(native, tx);
      });
    let failed = false;
    await withRetries(attempt, async (error, n) => {
      if (items.length === 1) {
        const only = items[0] as Item;
        await only.giveUp(only.message, error, n, only.event);
        outcomes = ['failed'];
        return;
      }
      failed = true;
      logger.warn({ error, size: items.length }, 'batch kept failing; handling its events one by one');
    });
    if (!failed) return outcomes;
    // Taken apart: each event alone, so only the ones that fail go to dead letters.
    const single: Outcome[] = [];
    for (const item of items) single.push(...(await runBatch(route, [item])));
    return single;
  }

  /** Decodes, routes, upcasts and handles one message; gives up through `giveUp`. */
  async function handle(
    m: IncomingMessage,
    giveUp: GiveUp,
    from: 'broker' | 'redelivery' = 'broker',
  ): Promise<Outcome> {
    let event: ConsumedEvent;
    try {
      event = decodeMessage(m);
    } catch (error) {
      await giveUp(m, error, 1, null);
      return 'failed';
    }
    const route = deps.routes.get(event.type);
    if (!route) {
      if (deps.onUnknownType === 'skip') {
        stats.skipped++;
        return 'skipped';
      }
      const known = [...deps.routes.keys()].join(', ');
      await giveUp(
        m,
        new HeraldError(
          'HERALD_UNKNOWN_EVENT_TYPE',
          `group ${group} has no handler for ${event.type} (handles ${known})`,
          {
            details: { type: event.type },
          },
        ),
        1,
        event,
      );
      return 'failed';
    }
    let typed: ConsumedEvent;
    try {
      typed = await upcastAndParse(event, route.definition);
    } catch (error) {
      await giveUp(m, error, 1, event);
      return 'failed';
    }
    if (route.batch) {
      const outcome = await batcherFor(route).add({ event: typed, message: m, giveUp });
      count(outcome);
      return outcome;
    }
    // A dead letter re-delivered is far behind its partition's position: the inbox guards it.
    const byPosition = deps.offsets === 'database' && from === 'broker';
    const item: GroupItem = { route, event: typed, message: m, byPosition };
    let failedFirst: { error: unknown } | undefined;
    if (groups) {
      try {
        const first = await groups.add(item);
        if (first.ok) {
          count(first.value);
          return first.value;
        }
        if (first.error instanceof Released) throw first.error;
        // A lock conflict is the group's doing, not the event's: it runs alone from its first attempt.
        if (!isLockConflict(first.error)) failedFirst = { error: first.error };
      } catch (error) {
        if (!(error instanceof GroupFailed)) throw error;
        // The group's transaction failed as a whole: nothing of it committed; each event alone.
        logger.debug({ error: error.cause }, 'group commit failed; handling its events one by one');
      }
    }
    let outcome: Outcome = 'failed';
    await withRetries(
      async (n) => {
        outcome = await runOne(item, n);
      },
      async (error, n) => {
        outcome = 'failed';
        await giveUp(m, error, n, typed);
      },
      failedFirst,
    );
    count(outcome);
    return outcome;
  }

  return {
    handle,
    withRetries,
    /** Sends every waiting batch now (at stop). */
    flushBatches: () => Promise.all([...batchers.values()].map((b) => b.flush())),
  };
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
