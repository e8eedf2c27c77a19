import { sleep } from '../retry/backoff.ts';
import { createGroupLimit, type GroupLimit } from './group-limit.ts';
import type { createSemaphore } from './ordering.ts';
import { Released } from './released.ts';

/** What became of one item of a group: its result, or the error its own work threw. */
export type Settled<R> = { ok: true; value: R } | { ok: false; error: unknown };

/**
 * Group commit's collector: items wait here until a concurrency slot is free, then the items
 * waiting (up to `maxEvents`, shared by slots given at once) run together through `run`, which
 * settles each one. While every slot is busy items pile up, so groups grow with the load and a
 * lone item waits for nothing. Where a transaction costs more than a few events' handlers, a
 * small group also waits while others run (Nagle's algorithm, for commits: see `wanted`): sixteen
 * slots each taking what had come when they freed ran drains in groups of 26-39 events, and
 * events at 1,000 a second one or two to a transaction (docs/benchmarks.md). There, fewer groups
 * also run at once while the database queues them (group-limit.ts), so a backlog goes in full
 * groups. `maxWaitMs` > 0 also holds a small group back that long for more. `run` throwing
 * rejects the whole group with `GroupFailed` (each item is then tried alone); a stop releases
 * items not started.
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
  /** Runs a group; adds the time its handlers took to `timing.handlersMs`. */
  run: (items: T[], timing: GroupTiming) => Promise<Settled<R>[]>;
  contended: (error: unknown) => boolean;
  /** Events an item holds (a run of messages), counted against the group's size. */
  weight: (item: T) => number;
  /** Hears the events of each group whose transaction committed. */
  onGroup?: (events: number) => void;
  /** How many groups run at once while small groups are held: group-limit.ts unless given. */
  groupsAtOnce?: GroupLimit;
}) {
  type Waiting = {
    item: T;
    weight: number;
    since: number;
    resolve: (s: Settled<R>) => void;
    reject: (e: unknown) => void;
  };
  let waiting: Waiting[] = [];
  /** Events waiting; slots asked for and not yet given; slots given whose group is not yet taken. */
  let pending = 0;
  let asking = 0;
  let taking = 0;
  /** The largest group now (see above), as a fraction: it grows by one per `limit` clean groups. */
  let size = options.maxEvents;
  const limit = () => Math.floor(size);
  const adapt = (contended: boolean) => {
    size = contended ? Math.max(1, size / 2) : Math.min(options.maxEvents, size + 1 / size);
  };
  const cost = createGroupCost();
  const groupsAtOnce = options.groupsAtOnce ?? createGroupLimit(options.concurrency);
  /** The groups running, each with the most that ran at once while it did. */
  const runningGroups = new Set<{ peak: number }>();
  const running = () => runningGroups.size;
  let timer: ReturnType<typeof setTimeout> | null = null;

  /**
   * Groups that could form now: one per waiting item, up to the slots there are; where small
   * groups are held, up to the groups that may run at once (group-limit.ts).
   */
  const possible = () =>
    cost.worthHolding()
      ? Math.max(0, Math.min(waiting.length, groupsAtOnce.limit() - running()))
      : Math.min(waiting.length, options.concurrency);
  /**
   * Slots to ask for now. Where a group's fixed cost outweighs an event's handlers (see
   * `createGroupCost`), a group smaller than the limit starts only while fewer groups run than
   * `holdBelow()`, or once its oldest event has waited as long as a group takes:
   * otherwise events wait for a running group to finish and start a fuller one together.
   */
  const wanted = () => {
    const all = possible();
    if (all === 0 || !cost.worthHolding()) return all;
    const full = Math.floor(pending / limit());
    const head = waiting[0] as Waiting;
    const small =
      pending > full * limit() &&
      (running() + asking + taking < cost.holdBelow() ||
        performance.now() - head.since >= cost.holdMs() ||
        options.signal.aborted);
    return Math.min(all, full + (small ? 1 : 0));
  };

  /** One more slot while the groups about to form are fewer than wanted (slots are used, not queued on). */
  const askIfNeeded = () => {
    while (asking + taking < wanted()) ask();
    // Events held back (fewer slots asked than there could be): asked again once the oldest has
    // waited its bound.
    if (timer === null && asking + taking < possible()) {
      const head = waiting[0] as Waiting;
      const ms = Math.max(0, head.since + cost.holdMs() - performance.now());
      timer = setTimeout(() => {
        timer = null;
        askIfNeeded();
      }, ms);
      timer.unref();
    }
  };

  const ask = () => {
    asking++;
    void options.slots.acquire().then(async (release) => {
      asking--;
      taking++;
      try {
        // Let the rest of a fetched batch (queued as microtasks) join, or wait for more.
        if (options.maxWaitMs > 0 && pending < limit()) await sleep(options.maxWaitMs, options.signal);
        else await new Promise((r) => setImmediate(r));
        // Slots given at once share what is waiting, dealt out in turn (every `taking`-th), so
        // they run side by side and what they have finished at any moment is near a prefix of
        // the order things arrived in (a stop mid-group leaves few gaps below acknowledgements).
        const share = Math.min(limit(), Math.ceil(pending / taking));
        const stride = taking;
        taking--;
        const taken: Waiting[] = [];
        const rest: Waiting[] = [];
        let held = 0;
        for (let i = 0; i < waiting.length; i++) {
          const w = waiting[i] as Waiting;
          // An item heavier than the share alone is a group of its own.
          if (i % stride === 0 && (held + w.weight <= share || taken.length === 0)) {
            taken.push(w);
            held += w.weight;
          } else rest.push(w);
        }
        waiting = rest;
        pending -= held;
        if (taken.length === 0) return;
        if (options.signal.aborted) {
          for (const w of taken) w.reject(new Released());
          return;
        }
        const timing: GroupTiming = { handlersMs: 0 };
        const started = performance.now();
        const me = { peak: running() + 1 };
        runningGroups.add(me);
        for (const other of runningGroups) other.peak = Math.max(other.peak, me.peak);
        try {
          const settled = await options.run(
            taken.map((w) => w.item),
            timing,
          );
          options.onGroup?.(held);
          adapt(settled.some((s) => !s.ok && options.contended(s.error)));
          for (const [i, w] of taken.entries()) w.resolve(settled[i] as Settled<R>);
        } catch (error) {
          adapt(options.contended(error));
          for (const w of taken) w.reject(new GroupFailed(error));
        } finally {
          runningGroups.delete(me);
          const ms = performance.now() - (timing.connectedAt ?? started);
          const handled = timing.handled ?? held;
          cost.record(ms, timing.handlersMs, handled);
          // Events were waiting that the limit, not the hold, kept back; or no limit applied (handlers
          // that wait on another service): it climbs to `concurrency` then, unless the database queues.
          const bound =
            !cost.worthHolding() || (waiting.length > 0 && running() + asking + taking + 1 >= groupsAtOnce.limit());
          // A group of duplicates says nothing of what a handler costs.
          if (handled > 0) groupsAtOnce.record(timing.handlersMs / handled, me.peak, bound);
        }
      } finally {
        release();
        askIfNeeded();
      }
    });
  };

  // A stop lets held events go at once (to be released), without waiting out their bound.
  options.signal.addEventListener('abort', askIfNeeded, { once: true });

  return {
    /** The largest group now, in events: `maxEvents`, less after lock conflicts (see above). */
    limit,
    /**
     * Groups that may run at once now: `concurrency`, fewer where small groups are held and the
     * database queues them (group-limit.ts).
     */
    groupsAtOnce: () => (cost.worthHolding() ? groupsAtOnce.limit() : options.concurrency),
    /** Resolves with the item's own outcome in its group; rejects with GroupFailed or Released. */
    add(item: T): Promise<Settled<R>> {
      return new Promise((resolve, reject) => {
        const weight = options.weight(item);
        waiting.push({ item, weight, since: performance.now(), resolve, reject });
        pending += weight;
        askIfNeeded();
      });
    },
  };
}

/**
 * The time a group's handlers took, the messages that ran them (duplicates run none; the group's
 * events when not given), and when it had its connection: filled in by the group's `run`.
 */
export interface GroupTiming {
  handlersMs: number;
  handled?: number;
  connectedAt?: number;
}

/**
 * What group transactions cost, as moving averages: the fixed part (the transaction, its claim,
 * its commit: the group's time outside its handlers), the handlers' time per event, and the
 * connections the handlers keep busy (their time per unit of time: the rate of events times each
 * one's time, by Little's law). Holding events back for a fuller group is worth it while one
 * event's handlers cost less than one more transaction, as handlers that only write to the
 * database do. Groups that run at once must still carry the handlers' work: small groups wait
 * only while at least twice the connections it keeps busy run, and never fewer than two (so one
 * group's commit overlaps the next one's handlers). Handlers that wait on something else (a call
 * to another service, 5 ms each at 1,000 events a second: five connections busy) so start at
 * once, side by side, as without holding.
 */
export function createGroupCost() {
  let fixed = Number.NaN;
  let perEvent = Number.NaN;
  let duration = Number.NaN;
  let busy = Number.NaN;
  let busyMs = 0;
  let since = performance.now();
  const average = (old: number, x: number, weight = 0.1) => (Number.isNaN(old) ? x : old + weight * (x - old));
  return {
    /** A group's time, its handlers' time, and the events that ran handlers (none: duplicates). */
    record(ms: number, handlersMs: number, events: number): void {
      fixed = average(fixed, ms - handlersMs);
      if (events > 0) perEvent = average(perEvent, handlersMs / events);
      duration = average(duration, ms);
      busyMs += handlersMs;
      const now = performance.now();
      if (now - since >= busyWindowMs) {
        busy = average(busy, busyMs / (now - since), 0.3);
        busyMs = 0;
        since = now;
      }
    },
    worthHolding: () => perEvent * holdRatio < fixed,
    /** Groups running below which a small group starts without waiting. */
    holdBelow: () => (Number.isNaN(busy) ? 2 : Math.max(2, Math.ceil(2 * busy))),
    /** The longest an event is held back: a group's mean time. */
    holdMs: () => duration,
  };
}

/**
 * How many times an event's handlers a transaction must cost for holding to pay: with handlers one
 * after another, an event of a fuller group also waits for the handlers before it. Handlers of
 * 5 ms each, against a transaction of 5-10 ms, then ran slower held (p50 99 against 30 ms at
 * 1,000 events a second); handlers that write a row (0.1-0.5 ms) are held.
 */
const holdRatio = 4;

/** The span over which the handlers' busy connections are measured. */
const busyWindowMs = 100;

/** The group's transaction failed as a whole (not one item's handler): none of it committed. */
export class GroupFailed extends Error {
  constructor(cause: unknown) {
    super('group commit failed', { cause });
    this.name = 'GroupFailed';
  }
}
