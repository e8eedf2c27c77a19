import type { Logger } from '../observe/logger.ts';
import type { Outbox } from '../outbox/outbox.ts';
import { throwIfAborted } from '../store/aborted.ts';
import { claimInbox } from '../store/sql/inbox.ts';
import type { IncomingMessage } from '../transports/transport.ts';
import { type ConsumedEvent, eventTime } from '../wire/incoming.ts';
import type { GiveUp } from './dead-letter.ts';
import { emitter } from './emit.ts';
import type { GroupTransactionContext } from './group-transaction.ts';
import type { Outcome, Route } from './route.ts';

/**
 * Collects items until `size` are waiting or the first has waited `maxWaitMs`, then runs them
 * together; each `add` resolves with its own item's outcome.
 */
export function createBatcher<T, R = Outcome>(options: {
  size: number;
  maxWaitMs: number;
  run: (items: T[]) => Promise<R[]>;
}) {
  let waiting: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  let timer: NodeJS.Timeout | null = null;

  const flush = async (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = null;
    const taken = waiting;
    waiting = [];
    if (taken.length === 0) return;
    try {
      const results = await options.run(taken.map((w) => w.item));
      for (const [i, w] of taken.entries()) w.resolve(results[i] as R);
    } catch (error) {
      for (const w of taken) w.reject(error);
    }
  };

  return {
    add(item: T): Promise<R> {
      return new Promise<R>((resolve, reject) => {
        waiting.push({ item, resolve, reject });
        if (waiting.length >= options.size) void flush();
        else if (!timer) timer = setTimeout(() => void flush(), options.maxWaitMs);
      });
    },
    flush,
  };
}

/** An event on its way to a batch handler (`onBatch`). */
type Batched = { event: ConsumedEvent; message: IncomingMessage; giveUp: GiveUp };

/**
 * The batches of `onBatch` handlers, one collector per event type: a batch's inbox rows claimed in
 * one statement, the new events handed to the handler together in one transaction, retried as the
 * pipeline retries (`withRetries`); a batch that keeps failing is taken apart, each event alone.
 */
export function createBatches(deps: {
  transaction: GroupTransactionContext['transaction'];
  withRetries: (
    attempt: (n: number) => Promise<void>,
    giveUp: (e: unknown, n: number) => Promise<void>,
  ) => Promise<void>;
  schema: string;
  group: string;
  prepared: boolean;
  outbox: Outbox;
  logger: Logger;
}) {
  const { transaction, withRetries, schema, group, prepared, outbox, logger } = deps;
  const batchers = new Map<string, ReturnType<typeof createBatcher<Batched>>>();
  const batcherFor = (route: Route) => {
    const batch = route.batch as NonNullable<Route['batch']>;
    let batcher = batchers.get(route.definition.type);
    if (!batcher) {
      batcher = createBatcher<Batched>({
        size: batch.size,
        maxWaitMs: batch.maxWaitMs,
        run: (items) => runBatch(route, items),
      });
      batchers.set(route.definition.type, batcher);
    }
    return batcher;
  };

  async function runBatch(route: Route, items: Batched[]): Promise<Outcome[]> {
    const handler = (route.batch as NonNullable<Route['batch']>).handler;
    let outcomes: Outcome[] = [];
    const attempt = (n: number) =>
      transaction(async (native, tx) => {
        const fresh = await claimInbox(
          tx,
          schema,
          group,
          items.map((i) => ({ eventId: i.event.id, eventTime: eventTime(i.event), type: i.event.type })),
          prepared,
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
        const emit = emitter(outbox, tx);
        await handler(events, { tx: native, emit, attempt: n, group });
        await throwIfAborted(native, tx);
      });
    let failed = false;
    await withRetries(attempt, async (error, n) => {
      if (items.length === 1) {
        const only = items[0] as Batched;
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

  return {
    /** Resolves with the event's outcome once its batch has run. */
    add: (route: Route, item: Batched): Promise<Outcome> => batcherFor(route).add(item),
    /** Sends every waiting batch now (at stop). */
    flush: () => Promise.all([...batchers.values()].map((b) => b.flush())),
  };
}
