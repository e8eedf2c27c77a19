/**
 * How many groups run at once where handlers only write to the database (where group commit
 * holds small groups back: group.ts): at most the consumer's `concurrency`, fewer while the
 * database queues them. TCP Vegas, for transactions: an event's handlers are round trips to the
 * database, and they take longer as the groups running at once queue for the server's cores.
 * Against their time per event while at most two groups ran (`base`), the groups queued at the
 * server are about `limit × (1 − base / now)`: while fewer than `queuedLow` queue and the limit
 * is what keeps events waiting, it grows by one; while more than `queuedHigh` queue, it shrinks by
 * one, never below two. It starts at two, so the base is measured first (TCP's slow start).
 *
 * On two cores shared with PostgreSQL, a drain of handlers that write one row took 0.26 ms of
 * handlers an event with two groups at once, 0.46 with four, 1.0 with eight and 1.9 with sixteen,
 * and sixteen groups came out at 41 events instead of 64: 10-20 % fewer events a second than two
 * to eight (docs/benchmarks.md). Handlers that wait on another service are not limited: each
 * group would wait for its events' calls in turn.
 */
export function createGroupLimit(concurrency: number) {
  const floor = Math.min(concurrency, 2);
  let limit = floor;
  /** An event's handlers' time (ms) lately, and while at most two groups ran: moving averages. */
  let now = Number.NaN;
  let base = Number.NaN;
  const average = (old: number, x: number) => (Number.isNaN(old) ? x : old + 0.2 * (x - old));
  return {
    /** Groups that may run at once now. */
    limit: () => limit,
    /**
     * A group ended: its handlers' time per event that ran them (not per duplicate: a spell of
     * them would read as handlers of no time, and every group after as queued), the most groups
     * that ran while it did (itself included), and whether events were waiting that the limit kept
     * from starting.
     */
    record(perEventMs: number, peak: number, bound: boolean): void {
      now = average(now, perEventMs);
      if (peak <= 2) base = average(base, perEventMs);
      if (Number.isNaN(base) || now <= 0) return;
      const queued = limit * (1 - base / now);
      if (queued > queuedHigh) limit = Math.max(floor, limit - 1);
      else if (queued < queuedLow && bound) limit = Math.min(concurrency, limit + 1);
    },
  };
}

export type GroupLimit = ReturnType<typeof createGroupLimit>;

/** Vegas' alpha and beta: groups queued at the server below which the limit grows, above which it shrinks. */
const queuedLow = 2;
const queuedHigh = 4;
