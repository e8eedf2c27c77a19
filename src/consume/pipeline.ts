import { HeraldError, isHeraldError } from '../errors.ts';
import type { EventDefinition } from '../events/define.ts';
import type { Logger } from '../observe/logger.ts';
import type { Outbox } from '../outbox/outbox.ts';
import { backoffDelay, sleep } from '../relay/backoff.ts';
import { isConnectionError, type PoolLike, withTransaction } from '../store/connect.ts';
import { claimInbox } from '../store/sql/inbox.ts';
import type { IncomingMessage } from '../transports/transport.ts';
import { createBatcher } from './batch.ts';
import { type ConsumedEvent, decodeMessage, eventTime, upcastAndParse } from './decode.ts';
import { emitter } from './emit.ts';
import { createSemaphore } from './ordering.ts';
import type { BatchHandler, ConsumerStats, Handler } from './types.ts';

export interface Route {
  definition: EventDefinition;
  handler?: Handler<unknown>;
  batch?: { handler: BatchHandler<unknown>; size: number; maxWaitMs: number };
}

export interface RetryPolicy {
  /** Handler attempts before a message is dead-lettered; default 5. */
  attempts: number;
  initialMs: number;
  maxMs: number;
}

/** Thrown inside the pipeline when the consumer stops: the message is left for redelivery. */
export class Released extends Error {
  constructor() {
    super('released at stop');
  }
}

/** What becomes of a message: handled, skipped, or given up on (then `onGiveUp` ran). */
export type Outcome = 'handled' | 'duplicate' | 'skipped' | 'failed';
export type GiveUp = (error: unknown, attempts: number, event: ConsumedEvent | null) => Promise<void>;

/** The database or broker is away: retried without end and never counted against a message. */
export function isOutage(error: unknown): boolean {
  return (
    isHeraldError(error, 'HERALD_DATABASE_UNAVAILABLE') ||
    isHeraldError(error, 'HERALD_BROKER_UNAVAILABLE') ||
    isConnectionError(error)
  );
}

export function createPipeline(deps: {
  pool: PoolLike;
  schema: string;
  group: string;
  routes: Map<string, Route>;
  onUnknownType: 'skip' | 'dead-letter';
  retry: RetryPolicy;
  concurrency: number;
  prepared: boolean;
  outbox: Outbox;
  stats: ConsumerStats;
  logger: Logger;
  signal: AbortSignal;
  onOutage: (error: unknown) => void;
  onRecovered: () => void;
}) {
  const { pool, schema, group, stats, logger, signal } = deps;
  const slots = createSemaphore(deps.concurrency);

  /**
   * Runs `attempt` until it succeeds; a failure is retried in place with backoff up to the
   * policy's attempts (an outage without limit), then handed to `giveUp`. A NonRetriableError or
   * a HeraldError that is not retriable gives up at once.
   */
  async function withRetries(attempt: (n: number) => Promise<void>, giveUp: (e: unknown, n: number) => Promise<void>) {
    let failures = 0;
    let outages = 0;
    for (;;) {
      if (signal.aborted) throw new Released();
      const release = await slots.acquire();
      // Stopped while waiting for a slot: not started, so released for redelivery.
      if (signal.aborted) {
        release();
        throw new Released();
      }
      let failure: unknown;
      let ok = false;
      try {
        await attempt(failures + 1);
        ok = true;
      } catch (error) {
        failure = error;
      } finally {
        release();
      }
      if (ok) {
        if (outages > 0) deps.onRecovered();
        return;
      }
      if (isOutage(failure)) {
        deps.onOutage(failure);
        await sleep(backoffDelay(Math.min(outages++, 10), deps.retry), signal);
        continue;
      }
      failures++;
      const permanent =
        (failure instanceof Error && failure.name === 'NonRetriableError') ||
        (isHeraldError(failure) && !failure.retriable && failure.code !== 'HERALD_HANDLER_FAILED');
      if (permanent || failures >= deps.retry.attempts) return giveUp(failure, failures);
      stats.retries++;
      logger.debug({ error: failure, attempt: failures }, 'handler failed; retrying');
      await sleep(backoffDelay(failures - 1, deps.retry), signal);
    }
  }

  /** The handler and the inbox row in one transaction: a second delivery finds the row and skips. */
  async function runOne(route: Route, event: ConsumedEvent, m: IncomingMessage, attempt: number): Promise<Outcome> {
    return withTransaction(pool, async (tx) => {
      const fresh = await claimInbox(
        tx,
        schema,
        group,
        [{ eventId: event.id, eventTime: eventTime(event), type: event.type }],
        deps.prepared,
      );
      if (!fresh.has(event.id)) return 'duplicate';
      const emit = emitter(deps.outbox, tx);
      await (route.handler as Handler<unknown>)(event, {
        tx,
        emit: (events) => emit(event, events),
        attempt,
        group,
        message: { topic: m.topic, partition: m.partition, offset: m.offset },
      });
      return 'handled';
    });
  }

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
      withTransaction(pool, async (tx) => {
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
        await handler(events, { tx, emit, attempt: n, group });
      });
    let failed = false;
    await withRetries(attempt, async (error, n) => {
      if (items.length === 1) {
        const only = items[0] as Item;
        await only.giveUp(error, n, only.event);
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
  async function handle(m: IncomingMessage, giveUp: GiveUp): Promise<Outcome> {
    let event: ConsumedEvent;
    try {
      event = decodeMessage(m);
    } catch (error) {
      await giveUp(error, 1, null);
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
      await giveUp(error, 1, event);
      return 'failed';
    }
    if (route.batch) {
      const outcome = await batcherFor(route).add({ event: typed, message: m, giveUp });
      count(outcome);
      return outcome;
    }
    let outcome: Outcome = 'failed';
    await withRetries(
      async (n) => {
        outcome = await runOne(route, typed, m, n);
      },
      async (error, n) => {
        outcome = 'failed';
        await giveUp(error, n, typed);
      },
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
