import { setTimeout as sleep } from 'node:timers/promises';
import { progress } from './stats.ts';

/** How long a count may stand still before a wait gives up. */
export const stallMs = 30_000;

/** Waits until `count()` reaches `target`; gives up when it has not moved for `stallMs`. */
export async function waitFor(what: string, count: () => number, target: number): Promise<boolean> {
  let last = count();
  let movedAt = Date.now();
  let reportedAt = Date.now();
  while (count() < target) {
    await sleep(2);
    const now = Date.now();
    const c = count();
    if (c !== last) {
      last = c;
      movedAt = now;
    } else if (now - movedAt > stallMs) {
      progress(`${what}: stalled at ${c}/${target}`);
      return false;
    }
    if (now - reportedAt > 5000) {
      progress(`${what}: ${c}/${target}`);
      reportedAt = now;
    }
  }
  return true;
}

/**
 * Waits until `count()` has not moved for `quietMs`. A relay that publishes duplicates reaches
 * its target early; this lets it finish what is left before the topic is read back.
 */
export async function settle(count: () => number, quietMs = 1000): Promise<void> {
  let last = count();
  let movedAt = Date.now();
  while (Date.now() - movedAt < quietMs) {
    await sleep(20);
    const c = count();
    if (c !== last) {
      last = c;
      movedAt = Date.now();
    }
  }
}
