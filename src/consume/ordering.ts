import type { Delivery } from '../transports/transport.ts';

/**
 * Runs one key's items one after another and keys side by side: the order of one key's items is
 * kept while a slow or failing key holds up only itself. A key's items are handed to `run`
 * together: those that came while the key's last run was under way (up to `max()`, asked at each
 * run) make its next run, and (while `max()` is above one) its first waits a turn for the rest of
 * a fetched batch. Several of a key's messages can so share a transaction instead of taking one
 * each. `run` resolves with the items that did not finish (from a dead letter that could not be
 * recorded on): they are held, and run again first after `hold` (a backoff), since the key's later
 * items must not pass them. `task` queues work of another kind (a dead letter re-delivered) in
 * the key's order, alone between runs. Neither `run` nor a task may reject.
 */
export function createKeyedRuns<T>(options: {
  max: () => number;
  run: (items: T[]) => Promise<T[]>;
  /** Waits before the held items (`held`, the first one first) run again: the failures in a row. */
  hold: (key: string, failures: number, held: readonly T[]) => Promise<void>;
}) {
  class Task {
    readonly work: () => Promise<void>;
    constructor(work: () => Promise<void>) {
      this.work = work;
    }
  }
  type Key = { waiting: (T | Task)[]; done: Promise<void> };
  const keys = new Map<string, Key>();
  const drain = async (key: string, state: Key) => {
    // With max 1 a key with nothing running starts at once, without a turn to wait.
    if (options.max() > 1) await new Promise((resolve) => setImmediate(resolve));
    let failures = 0;
    while (state.waiting.length > 0) {
      const head = state.waiting[0];
      if (head instanceof Task) {
        state.waiting.shift();
        await head.work();
        continue;
      }
      const max = options.max();
      let n = 1;
      while (n < max && n < state.waiting.length && !(state.waiting[n] instanceof Task)) n++;
      const left = await options.run(state.waiting.splice(0, n) as T[]);
      if (left.length === 0) {
        failures = 0;
        continue;
      }
      state.waiting.unshift(...left);
      await options.hold(key, ++failures, left);
    }
    keys.delete(key);
  };
  const enqueue = (key: string, entry: T | Task) => {
    const state = keys.get(key);
    if (state) {
      state.waiting.push(entry);
      return;
    }
    const fresh: Key = { waiting: [entry], done: Promise.resolve() };
    keys.set(key, fresh);
    fresh.done = drain(key, fresh);
  };
  return {
    add(key: string, item: T): void {
      enqueue(key, item);
    },
    /** Runs `work` after what the key has queued, before what it queues next. */
    task(key: string, work: () => Promise<void>): void {
      enqueue(key, new Task(work));
    },
    /** Resolves when every item and task added so far has been run. */
    async idle(): Promise<void> {
      while (keys.size > 0) await Promise.all([...keys.values()].map((k) => k.done));
    },
  };
}

/** At most `limit` holders at once; `acquire` resolves with the function that releases. */
export function createSemaphore(limit: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  const release = () => {
    active--;
    const next = waiting.shift();
    if (next) {
      active++;
      next();
    }
  };
  return {
    acquire(): Promise<() => void> {
      if (active < limit) {
        active++;
        return Promise.resolve(release);
      }
      return new Promise((resolve) => waiting.push(() => resolve(release)));
    },
  };
}

interface Pending {
  delivery: Delivery;
  done: boolean;
  /** When it was fetched (ms since the epoch). */
  since: number;
}

/** A message at the head of its partition that has not finished, with messages waiting behind it. */
export interface StuckMessage {
  topic: string;
  partition: number;
  offset: string;
  seconds: number;
  waiting: number;
}

/**
 * Messages in flight in all, handled ones held for an earlier one of their partition included, as
 * a multiple of `maxInFlight`: enough that a slow message does not stop fetching for the rest (the
 * consume bench peaked near 3x, and ran 1.25x faster with 10 than with 1, 1.15x with 4), few
 * enough that a stuck one does. Held messages keep their payloads (the broker client's
 * acknowledgement holds the record), so this bounds memory too.
 */
export const heldPerInFlight = 10;

/**
 * Tracks the messages in flight per partition and acknowledges only a finished prefix: a message
 * is acknowledged once it and every message before it in its partition are handled, so a crash
 * never skips one that was still running. `waitForRoom` is the backpressure on fetching: at most
 * `maxInFlight` messages not yet handled, and `heldPerInFlight` times as many in all, the handled
 * ones that wait for an earlier one included. (Counting those as in flight let a few slow ones
 * fill the window: 50-85 % of it was handled and waiting in the consume bench, and group commit
 * ran small groups for lack of work.)
 */
export function createAckTracker(options: { maxInFlight: number; onAckError: (error: unknown) => void }) {
  const partitions = new Map<string, Pending[]>();
  const acks = new Set<Promise<void>>();
  let inFlight = 0;
  let unhandled = 0;
  let room: (() => void) | null = null;
  const hasRoom = () => unhandled < options.maxInFlight && inFlight < options.maxInFlight * heldPerInFlight;
  const wakeIfRoom = () => {
    if (room && hasRoom()) {
      const wake = room;
      room = null;
      wake();
    }
  };

  return {
    get inFlight() {
      return inFlight;
    },
    track(delivery: Delivery): () => void {
      const id = `${delivery.topic}\u0000${delivery.partition}`;
      let queue = partitions.get(id);
      if (!queue) {
        queue = [];
        partitions.set(id, queue);
      }
      const entry: Pending = { delivery, done: false, since: Date.now() };
      queue.push(entry);
      inFlight++;
      unhandled++;
      return () => {
        if (entry.done) return;
        entry.done = true;
        unhandled--;
        const q = partitions.get(id) as Pending[];
        let last: Pending | undefined;
        while (q.length > 0 && (q[0] as Pending).done) {
          last = q.shift();
          inFlight--;
        }
        if (q.length === 0) partitions.delete(id);
        if (last) {
          const ack = last.delivery.ack().catch(options.onAckError);
          acks.add(ack);
          void ack.finally(() => acks.delete(ack));
        }
        wakeIfRoom();
      };
    },
    /**
     * The partitions held up: their first unfinished message was fetched more than `ms` ago and
     * others wait behind it (a handler retrying one message while the rest of its partition waits).
     */
    stuck(ms: number, now = Date.now()): StuckMessage[] {
      const out: StuckMessage[] = [];
      for (const q of partitions.values()) {
        const head = q[0];
        if (!head || q.length < 2 || now - head.since <= ms) continue;
        const { topic, partition, offset } = head.delivery;
        out.push({ topic, partition, offset, seconds: Math.round(now - head.since) / 1000, waiting: q.length - 1 });
      }
      return out;
    },
    /** Whether one more message may be fetched now (see above), without waiting. */
    hasRoom,
    /** Resolves when there is room for one more message (see above). */
    waitForRoom(): Promise<void> {
      if (hasRoom()) return Promise.resolve();
      return new Promise((resolve) => {
        room = resolve;
      });
    },
    /** Lets a waiting `waitForRoom` go (at stop). */
    release(): void {
      room?.();
      room = null;
    },
    /** Waits for acknowledgements already started. */
    async flush(): Promise<void> {
      await Promise.all([...acks]);
    },
  };
}
