import { HeraldError } from '../errors.ts';
import { activeContext, inContext } from '../observe/tracing.ts';
import type { Outbox } from '../outbox/outbox.ts';
import { isLockConflict } from '../retry/classify.ts';
import { retry } from '../retry/retry.ts';
import { throwIfAborted } from '../store/aborted.ts';
import type { Queryable } from '../store/db.ts';
import { claimPositions } from '../store/sql/consumer-offsets.ts';
import { inTransactionScope } from '../store/transaction.ts';
import type { IncomingMessage } from '../transports/transport.ts';
import { type ConsumedEvent, decodeMessage } from '../wire/incoming.ts';
import { createBatches } from './batch.ts';
import { type Claimed, createClaim, everyHandler, type Fresh, type Handled, type Item } from './claim.ts';
import type { GiveUp } from './dead-letter.ts';
import { emitter } from './emit.ts';
import { createGroupCommit, GroupFailed } from './group.ts';
import { createGroupTransaction } from './group-transaction.ts';
import { createRunHandler, RunFailed } from './handle-run.ts';
import type { ConsumerSettings } from './options.ts';
import { createSemaphore } from './ordering.ts';
import { Released } from './released.ts';
import type { NamedHandler, Outcome, Route } from './route.ts';
import type { ConsumerContext } from './types.ts';
import { upcastAndParse } from './upcast.ts';

/** Handler attempts before a message is dead-lettered (default 5), and the backoff between them. */
export type RetryPolicy = ConsumerContext['retry'];

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
    groupCommit: ConsumerSettings['groupCommit'];
    /** Hears the events of each group transaction that committed (a metric). */
    onGroup?: (events: number) => void;
  },
) {
  const { schema, group, stats, logger, signal } = deps;
  /** A transaction of the user's client, ambient inside `fn`: `outbox.add(events)` writes in it. */
  const transaction = <T>(fn: (tx: unknown, port: Queryable) => Promise<T>): Promise<T> =>
    deps.transaction((tx, port) => inTransactionScope(tx, port, () => fn(tx, port)));
  const slots = createSemaphore(deps.concurrency);

  /**
   * Runs `attempt` in a concurrency slot until it succeeds (see retry/classify.ts): a failure is
   * retried in place with backoff up to the policy's attempts, an outage (and, with group commit,
   * a lock conflict) without limit; a
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
        // With group commit, an event alone can still be caught in a deadlock with groups (it
        // queued first for a row a group holds, a group behind it holds the row the first wants):
        // the groups' doing, not the event's, so retried without counting, like the try in a group.
        ...(deps.groupCommit ? { uncounted: isLockConflict } : {}),
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

  /**
   * Runs, in order, the handlers of one event whose inbox rows were new (`fresh`): 'duplicate'
   * when every one had already run.
   */
  function runHandlers(
    native: unknown,
    tx: Queryable,
    { route, event, message: m }: Item,
    attempt: number,
    fresh: Fresh,
  ): Promise<Outcome> {
    const all = route.handlers ?? [];
    const handlers = fresh === everyHandler ? all : all.filter(fresh);
    if (handlers.length === 0) return Promise.resolve('duplicate');
    const emit = emitter(deps.outbox, tx);
    const context = {
      tx: native,
      emit: (events: Parameters<typeof emit>[1]) => emit(event, events),
      attempt,
      group,
      message: { topic: m.topic, partition: m.partition, offset: m.offset },
    };
    // One handler, the common case: its own promise, without an async function around it.
    if (handlers.length === 1) {
      try {
        return Promise.resolve((handlers[0] as NamedHandler).handler(event, context)).then(handled);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return (async () => {
      for (const h of handlers) await h.handler(event, context);
      return 'handled' as const;
    })();
  }
  const handled = (): Outcome => 'handled';

  /**
   * An item's handlers in its trace context; a run's one message after another, in each one's
   * context, a duplicate of the run skipped, a failure thrown as the run's, with the message's
   * place in it.
   */
  function runItem(native: unknown, tx: Queryable, item: Item, attempt: number, claimed: Claimed): Promise<Handled> {
    if (!item.rest)
      return item.active === undefined
        ? runHandlers(native, tx, item, attempt, claimed.runs)
        : inContext(item.active, () => runHandlers(native, tx, item, attempt, claimed.runs));
    const run = [item, ...item.rest];
    return (async () => {
      const outcomes: Outcome[] = [];
      for (const [k, each] of run.entries()) {
        const fresh = claimed.each ? claimed.each[k] : everyHandler;
        if (!fresh) {
          outcomes.push('duplicate');
          continue;
        }
        try {
          outcomes.push(await inContext(each.active, () => runHandlers(native, tx, each, attempt, fresh)));
        } catch (error) {
          throw new RunFailed(k, error);
        }
      }
      return outcomes;
    })();
  }

  const claim = createClaim(deps);

  /** The handlers and their claim in one transaction: a second delivery finds the claim and skips. */
  async function runOne(item: Item, attempt: number): Promise<Outcome> {
    return transaction(async (native, tx) => {
      const [claimed] = await claim(tx, [item]);
      if (!claimed) return 'duplicate';
      const outcome = await runHandlers(native, tx, item, attempt, claimed.runs);
      await throwIfAborted(native, tx);
      return outcome;
    });
  }

  const groups = deps.groupCommit
    ? createGroupCommit<Item, Handled>({
        ...deps.groupCommit,
        slots,
        concurrency: deps.concurrency,
        signal,
        run: createGroupTransaction({
          transaction,
          claim,
          runHandlers: runItem,
          signal,
          lockTimeoutMs: deps.groupCommit.lockTimeoutMs,
          pipeline: deps.groupCommit.pipeline,
        }),
        contended: isLockConflict,
        // A run counts as its messages.
        weight: (item: Item) => (item.rest ? 1 + item.rest.length : 1),
        ...(deps.onGroup ? { onGroup: deps.onGroup } : {}),
      })
    : null;

  const count = (outcome: Outcome, n = 1) => {
    if (outcome === 'handled') stats.handled += n;
    else if (outcome === 'duplicate') stats.duplicates += n;
  };

  const batches = createBatches({
    transaction,
    withRetries,
    schema,
    group,
    prepared: deps.prepared,
    outbox: deps.outbox,
    logger,
  });

  /**
   * Given up on, so done (offsets: 'database'): its position moves past it now, not with the
   * partition's next message, which may never come (a crash would run it or give it up again,
   * after a `dlq retry` too).
   */
  const movePast = (m: IncomingMessage) =>
    claimPositions(
      deps.pool,
      schema,
      group,
      [{ topic: m.topic, partition: m.partition, first: m.offset, last: m.offset }],
      deps.prepared,
    );

  /** Decodes, routes, upcasts and handles one message; gives up through `giveUp`. */
  async function handle(
    m: IncomingMessage,
    giveUp: GiveUp,
    from: 'broker' | 'redelivery' = 'broker',
  ): Promise<Outcome> {
    // A dead letter re-delivered is far behind its partition's position: the inbox guards it.
    const byPosition = deps.offsets === 'database' && from === 'broker';
    /** Given up on before any handler ran. */
    const refuse = async (error: unknown, event: ConsumedEvent | null): Promise<Outcome> => {
      await giveUp(m, error, 1, event);
      if (byPosition) await movePast(m);
      return 'failed';
    };
    let event: ConsumedEvent;
    try {
      event = decodeMessage(m);
    } catch (error) {
      return refuse(error, null);
    }
    const route = deps.routes.get(event.type);
    if (!route) {
      if (deps.onUnknownType === 'skip') {
        stats.skipped++;
        return 'skipped';
      }
      const known = [...deps.routes.keys()].join(', ');
      return refuse(
        new HeraldError(
          'HERALD_UNKNOWN_EVENT_TYPE',
          `group ${group} has no handler for ${event.type} (handles ${known})`,
          {
            details: { type: event.type },
          },
        ),
        event,
      );
    }
    let typed: ConsumedEvent;
    try {
      const parsed = upcastAndParse(event, route.definition);
      typed = parsed instanceof Promise ? await parsed : parsed;
    } catch (error) {
      return refuse(error, event);
    }
    if (route.batch) {
      const outcome = await batches.add(route, { event: typed, message: m, giveUp });
      count(outcome);
      return outcome;
    }
    // Its handlers may run in a group's transaction, started from another message's trace context:
    // they are given the one this message came with (its process span).
    return handleItem({ route, event: typed, message: m, byPosition, active: activeContext() }, giveUp);
  }

  /** An item in a group (with group commit), or alone if the group did not settle it. */
  async function handleItem(item: Item, giveUp: GiveUp): Promise<Outcome> {
    let failedFirst: { error: unknown } | undefined;
    if (groups) {
      try {
        const first = await groups.add(item);
        if (first.ok) {
          // One message, not a run: one outcome.
          const outcome = first.value as Outcome;
          count(outcome);
          return outcome;
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
    return alone(item, giveUp, failedFirst);
  }

  /** One item in a transaction of its own, retried; given up through `giveUp`. */
  async function alone(item: Item, giveUp: GiveUp, failedFirst?: { error: unknown }): Promise<Outcome> {
    let outcome: Outcome = 'failed';
    await withRetries(
      async (n) => {
        outcome = await runOne(item, n);
      },
      async (error, n) => {
        outcome = 'failed';
        await giveUp(item.message, error, n, item.event);
        if (item.byPosition) await movePast(item.message);
      },
      failedFirst,
    );
    count(outcome);
    return outcome;
  }

  const { handleRun } = createRunHandler({
    ...deps,
    groups,
    count,
    handle,
    handleItem,
    alone,
  });

  return {
    handle,
    handleRun,
    /** The most messages a key's run may hold now: a group's size (1 without group commit). */
    runLimit: groups ? groups.limit : () => 1,
    /** Group transactions that may run at once now; null without group commit. */
    groupsAtOnce: groups ? groups.groupsAtOnce : () => null,
    withRetries,
    /** Sends every waiting batch now (at stop). */
    flushBatches: batches.flush,
  };
}
