import { sleep } from '../retry/backoff.ts';
import type { createSemaphore } from './ordering.ts';
import { Released } from './released.ts';

/** What became of one item of a group: its result, or the error its own work threw. */
export type Settled<R> = { ok: true; value: R } | { ok: false; error: unknown };

/**
 * Group commit's collector: items wait here until a concurrency slot is free, then the items
 * waiting (up to `maxEvents`, shared by slots given at once) run together through `run`, which
 * settles each one. While every slot is busy items pile up, so groups grow with the load and a lone item waits for nothing;
 * `maxWaitMs` > 0 also holds a small group back that long for more. `run` throwing rejects the
 * whole group with `GroupFailed` (each item is then tried alone); a stop releases items not started.
 *
 * Groups that hold many rows' locks at once deadlock with each other where one event at a time
 * would not (two groups taking hot rows in the order their events came). So the size adapts: a
 * group in which `contended` says an item, or the whole, failed on a lock conflict halves the
 * largest group, down to one event; it grows back by one for as many clean groups as it is large,
 * up to `maxEvents` (TCP's congestion window, for locks). Sizes count `weight`: an item heavier
 * than the size (a run of one key's messages) is a group of its own, never split.
 */
export function createGroupCommit<T, R>(options: {
  maxEvents: number;
  maxWaitMs: number;
  slots: ReturnType<typeof createSemaphore>;
  /** Slots there are: no more groups than this wait for one. */
  concurrency: number;
  signal: AbortSignal;
  run: (items: T[]) => Promise<Settled<R>[]>;
  contended: (error: unknown) => boolean;
  /** Events an item holds (a run of messages), counted against the group's size. */
  weight: (item: T) => number;
  /** Hears the events of each group whose transaction committed. */
  onGroup?: (events: number) => void;
}) {
  type Waiting = { item: T; resolve: (s: Settled<R>) => void; reject: (e: unknown) => void };
  let waiting: Waiting[] = [];
  /** Slots asked for and not yet given; slots given whose group is not yet taken. */
  let asking = 0;
  let taking = 0;
  /** The largest group now (see above), as a fraction: it grows by one per `limit` clean groups. */
  let size = options.maxEvents;
  const limit = () => Math.floor(size);
  const adapt = (contended: boolean) => {
    size = contended ? Math.max(1, size / 2) : Math.min(options.maxEvents, size + 1 / size);
  };

  /** One more slot while items outnumber the groups about to form (slots are used, not queued on). */
  const askIfNeeded = () => {
    while (asking + taking < Math.min(waiting.length, options.concurrency)) ask();
  };

  const ask = () => {
    asking++;
    void options.slots.acquire().then(async (release) => {
      asking--;
      taking++;
      try {
        // Let the rest of a fetched batch (queued as microtasks) join, or wait for more.
        if (options.maxWaitMs > 0 && waiting.length < limit()) await sleep(options.maxWaitMs, options.signal);
        else await new Promise((r) => setImmediate(r));
        // Slots given at once share what is waiting, dealt out in turn (every `taking`-th), so
        // they run side by side and what they have finished at any moment is near a prefix of
        // the order things arrived in (a stop mid-group leaves few gaps below acknowledgements).
        const { weight } = options;
        let total = 0;
        for (const w of waiting) total += weight(w.item);
        const share = Math.min(limit(), Math.ceil(total / taking));
        const stride = taking;
        taking--;
        const taken: Waiting[] = [];
        const rest: Waiting[] = [];
        let held = 0;
        for (let i = 0; i < waiting.length; i++) {
          const w = waiting[i] as Waiting;
          const add = weight(w.item);
          // An item heavier than the share alone is a group of its own.
          if (i % stride === 0 && (held + add <= share || taken.length === 0)) {
            taken.push(w);
            held += add;
          } else rest.push(w);
        }
        waiting = rest;
        if (taken.length === 0) return;
        if (options.signal.aborted) {
          for (const w of taken) w.reject(new Released());
          return;
        }
        try {
          const settled = await options.run(taken.map((w) => w.item));
          options.onGroup?.(held);
          adapt(settled.some((s) => !s.ok && options.contended(s.error)));
          for (const [i, w] of taken.entries()) w.resolve(settled[i] as Settled<R>);
        } catch (error) {
          adapt(options.contended(error));
          for (const w of taken) w.reject(new GroupFailed(error));
        }
      } finally {
        release();
        askIfNeeded();
      }
    });
  };

  return {
    /** The largest group now, in events: `maxEvents`, less after lock conflicts (see above). */
    limit,
    /** Resolves with the item's own outcome in its group; rejects with GroupFailed or Released. */
    add(item: T): Promise<Settled<R>> {
      return new Promise((resolve, reject) => {
        waiting.push({ item, resolve, reject });
        askIfNeeded();
      });
    },
  };
}

/** The group's transaction failed as a whole (not one item's handler): none of it committed. */
export class GroupFailed extends Error {
  constructor(cause: unknown) {
    super('group commit failed', { cause });
    this.name = 'GroupFailed';
  }
}
