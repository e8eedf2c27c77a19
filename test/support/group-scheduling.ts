import { createGroupCommit, type GroupTiming, type Settled } from '../../src/consume/group.ts';
import type { GroupLimit } from '../../src/consume/group-limit.ts';
import { createSemaphore } from '../../src/consume/ordering.ts';

/**
 * Group commit of numbered items as the consumer sets it up (groups of up to 64, sixteen slots,
 * no lock conflicts), over a `run` of the test's own: the tests of its scheduling.
 */
export function testGroupCommit(
  signal: AbortSignal,
  run: (items: number[], timing: GroupTiming) => Promise<Settled<string>[]>,
  groupsAtOnce?: GroupLimit,
) {
  return createGroupCommit<number, string>({
    maxEvents: 64,
    maxWaitMs: 0,
    slots: createSemaphore(16),
    concurrency: 16,
    signal,
    contended: () => false,
    weight: () => 1,
    run,
    ...(groupsAtOnce ? { groupsAtOnce } : {}),
  });
}
