/**
 * The tests that stop or restart a broker or the database do it to a private instance of their
 * own (infra/kafka.mjs, postgres.mjs, nats.mjs, rabbitmq.mjs, elasticmq.mjs), never to the shared
 * services, which may be the user's own. When such an instance cannot run here (a binary, a user
 * or Java is missing), the test is skipped and says why.
 */
import type { TestContext } from 'node:test';

/**
 * Runs `start` (which starts private services, or a whole run on them); when it rejects with
 * infra's ServiceUnavailable, skips the test with its reason and resolves undefined: the caller
 * returns at once. Any other failure fails the test.
 */
export async function orSkip<T>(t: TestContext, start: () => Promise<T>): Promise<T | undefined> {
  try {
    const started = await start();
    const ms = (started as { startMs?: unknown } | undefined)?.startMs;
    if (typeof ms === 'number') t.diagnostic(`private service started in ${(ms / 1000).toFixed(1)} s`);
    return started;
  } catch (error) {
    if ((error as { unavailable?: unknown } | null)?.unavailable === true) {
      t.skip(`skipped: ${(error as Error).message}`);
      return undefined;
    }
    throw error;
  }
}
