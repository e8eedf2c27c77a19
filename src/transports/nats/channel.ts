/**
 * A queue between the partitions' fetch loops and the one reader of a subscription: the reader
 * takes items in arrival order (each partition pushes in its own order), `room` holds fetching
 * back while enough is buffered, and a failure reaches the reader at its next read.
 */
export function createChannel<T>() {
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

  return {
    get size() {
      return items.length;
    },
    /** Adds an item (dropped once the channel ended or failed). */
    push(item: T): void {
      if (ended || failure) return;
      const reader = readers.shift();
      if (reader) reader.resolve({ value: item, done: false });
      else items.push(item);
    },
    /** The reader's next read rejects with `error`; what was buffered is dropped. */
    fail(error: unknown): void {
      if (ended || failure) return;
      failure = { error };
      items.length = 0;
      for (const reader of readers.splice(0)) reader.reject(error);
      wakeRoom();
    },
    /** Reads end; what was buffered is dropped. */
    end(): void {
      if (ended) return;
      ended = true;
      items.length = 0;
      for (const reader of readers.splice(0)) reader.resolve({ value: undefined, done: true });
      wakeRoom();
    },
    /** Resolves once fewer than `limit` items wait (or the channel is over). */
    room(limit: number): Promise<void> {
      if (items.length < limit || ended || failure) return Promise.resolve();
      return new Promise((resolve) => roomWaiters.push(resolve));
    },
    next(limit: number): Promise<IteratorResult<T>> {
      if (failure) return Promise.reject(failure.error);
      if (items.length > 0) {
        const value = items.shift() as T;
        if (items.length < limit) wakeRoom();
        return Promise.resolve({ value, done: false });
      }
      if (ended) return Promise.resolve({ value: undefined, done: true });
      wakeRoom();
      return new Promise((resolve, reject) => readers.push({ resolve, reject }));
    },
  };
}
