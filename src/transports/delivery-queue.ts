import type { Delivery, PartitionLag, Subscription } from './transport.ts';

/**
 * The deliveries a push-style subscription has fetched and its one reader has not taken yet: the
 * queue between the fetch loops (NATS pull requests, SQS long polls, PostgreSQL reads) or the
 * broker's push callbacks (RabbitMQ) and the consumer.
 *
 * - The reader takes items in arrival order; each partition is pushed in its own order, so each
 *   partition is read in order.
 * - `room()` holds a fetch loop back while `limit` items wait (backpressure).
 * - `fail(error)`: the reader's next read rejects with it, and every read after; what was waiting
 *   is dropped (never acknowledged, so the broker delivers it again).
 * - `end()` (at close): reads end at once, a read waiting resolves done, and what was waiting is
 *   dropped: nothing is read after close. Items pushed afterwards are dropped too.
 */
export interface DeliveryQueue<T> extends AsyncIterable<T> {
  /** Items waiting for the reader. */
  readonly size: number;
  /** True once the queue ended or failed: fetch loops stop. */
  readonly finished: boolean;
  /** Adds an item (dropped once the queue ended or failed). */
  push(item: T): void;
  /** The reader's next read rejects with `error` (unless the queue ended first). */
  fail(error: unknown): void;
  /** Reads end; what was waiting is dropped. */
  end(): void;
  /** Resolves once fewer than `limit` items wait, or the queue is finished. */
  room(): Promise<void>;
  /** Drops the waiting items `stale` picks (a partition given up, say). */
  discard(stale: (item: T) => boolean): void;
  /** The next item, or done once the queue ended. */
  next(): Promise<IteratorResult<T>>;
}

export function createDeliveryQueue<T>(limit = Number.POSITIVE_INFINITY): DeliveryQueue<T> {
  const items: T[] = [];
  const readers: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }[] = [];
  let roomWaiters: (() => void)[] = [];
  let failure: { error: unknown } | null = null;
  let ended = false;

  const wakeRoom = () => {
    const waiters = roomWaiters;
    roomWaiters = [];
    for (const w of waiters) w();
  };
  const over = () => ended || failure !== null;

  const next = (): Promise<IteratorResult<T>> => {
    if (ended) return Promise.resolve({ value: undefined, done: true });
    if (failure) return Promise.reject(failure.error);
    if (items.length > 0) {
      const value = items.shift() as T;
      if (items.length < limit) wakeRoom();
      return Promise.resolve({ value, done: false });
    }
    wakeRoom();
    return new Promise((resolve, reject) => readers.push({ resolve, reject }));
  };

  return {
    get size() {
      return items.length;
    },
    get finished() {
      return over();
    },
    push(item) {
      if (over()) return;
      const reader = readers.shift();
      if (reader) reader.resolve({ value: item, done: false });
      else items.push(item);
    },
    fail(error) {
      if (over()) return;
      failure = { error };
      items.length = 0;
      for (const reader of readers.splice(0)) reader.reject(error);
      wakeRoom();
    },
    end() {
      if (ended) return;
      ended = true;
      items.length = 0;
      for (const reader of readers.splice(0)) reader.resolve({ value: undefined, done: true });
      wakeRoom();
    },
    room() {
      if (items.length < limit || over()) return Promise.resolve();
      return new Promise((resolve) => roomWaiters.push(resolve));
    },
    discard(stale) {
      const kept = items.filter((item) => !stale(item));
      items.splice(0, items.length, ...kept);
      if (items.length < limit) wakeRoom();
    },
    next,
    /** An iterator over the queue; return() ends this iterator, not the queue (close() does). */
    [Symbol.asyncIterator]() {
      let returned = false;
      return {
        next: () => (returned ? Promise.resolve({ value: undefined, done: true }) : next()),
        return: async () => {
          returned = true;
          return { value: undefined, done: true };
        },
      };
    },
  };
}

/**
 * A push-style subscription: read from its delivery queue; close() runs once (a second call waits
 * for the first), ends the queue first, so that nothing is read after close(), then runs the
 * adapter's own `shutdown` (acknowledgements flushed, connections closed).
 */
export function queuedSubscription(
  queue: DeliveryQueue<Delivery>,
  adapter: { shutdown(): Promise<void>; lag(): Promise<PartitionLag[]> },
): Subscription {
  let closing: Promise<void> | null = null;
  return {
    [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator](),
    close() {
      closing ??= (async () => {
        queue.end();
        await adapter.shutdown();
      })();
      return closing;
    },
    lag: () => adapter.lag(),
  };
}
