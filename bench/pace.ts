import { setTimeout as sleep } from 'node:timers/promises';

export interface PacedResult {
  /** Event id → Date.now() right after its COMMIT returned. */
  committed: Map<string, number>;
  offered: number;
  failed: number;
  /** From the first transaction started to the last one committed. */
  elapsedMs: number;
  /** Transactions started later than their scheduled time by more than 10 ms. */
  late: number;
  /** Commits in each second of the run. */
  perSecond: number[];
  /** Each transaction's BEGIN → COMMIT returned, ms: how long it held its xid back from the relay's read. */
  txMs: number[];
}

/**
 * Offers `rate` transactions a second for `seconds`: a 1 ms timer releases every transaction
 * whose scheduled time (start + i / rate) has come, up to `concurrency` in flight; one that cannot
 * start on time (all connections busy) starts as soon as one frees, and is counted as late.
 */
export async function pacedWrites(options: {
  rate: number;
  seconds: number;
  concurrency: number;
  commit: (i: number) => Promise<{ ids: string[]; at: number; tookMs: number }>;
}): Promise<PacedResult> {
  const { rate, concurrency, commit } = options;
  const total = Math.round(rate * options.seconds);
  const result: PacedResult = {
    committed: new Map(),
    offered: total,
    failed: 0,
    elapsedMs: 0,
    late: 0,
    perSecond: [],
    txMs: [],
  };
  let firstError: unknown;
  let inFlight = 0;
  let issued = 0;
  let freed: (() => void) | undefined;
  const running = new Set<Promise<void>>();
  const start = performance.now();

  const launch = (i: number) => {
    inFlight++;
    const task = commit(i)
      .then(({ ids, at, tookMs }) => {
        for (const id of ids) result.committed.set(id, at);
        result.txMs.push(tookMs);
        const second = Math.floor((performance.now() - start) / 1000);
        result.perSecond[second] = (result.perSecond[second] ?? 0) + 1;
      })
      .catch((error: unknown) => {
        result.failed++;
        firstError ??= error;
      })
      .finally(() => {
        inFlight--;
        running.delete(task);
        freed?.();
      });
    running.add(task);
  };

  while (issued < total) {
    const now = performance.now() - start;
    const due = Math.min(total, Math.floor((now * rate) / 1000) + 1);
    while (issued < due && inFlight < concurrency) {
      if (now - (issued * 1000) / rate > 10) result.late++;
      launch(issued++);
    }
    if (issued < due) {
      await new Promise<void>((resolve) => {
        freed = resolve;
      });
      freed = undefined;
    } else {
      await sleep(1);
    }
  }
  await Promise.all(running);
  result.elapsedMs = performance.now() - start;
  if (firstError !== undefined) {
    process.stderr.write(`writer: ${result.failed} transactions failed, first: ${(firstError as Error).message}\n`);
  }
  return result;
}
