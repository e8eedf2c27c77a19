import { type BackoffOptions, backoffDelay, sleep } from '../relay/backoff.ts';
import type { Delivery, Subscription } from '../transports/transport.ts';

const aborted = Symbol('aborted');

/**
 * Subscribes, hands each delivery to `dispatch` while there is room in flight, and subscribes
 * again after a failure, with backoff. At stop (the signal) it stops fetching at once, lets
 * `drain` finish and acknowledge the work under way, and only then closes the subscription, so
 * the acknowledgements still reach the broker.
 */
export async function consumeLoop(deps: {
  subscribe: () => Promise<Subscription>;
  onSubscribed: (subscription: Subscription) => void;
  dispatch: (delivery: Delivery) => void;
  acks: { waitForRoom(): Promise<void> };
  signal: AbortSignal;
  onOutage: (error: unknown) => void;
  retry: BackoffOptions;
  drain: () => Promise<void>;
}): Promise<void> {
  const { signal } = deps;
  const stopped = new Promise<typeof aborted>((resolve) => {
    if (signal.aborted) resolve(aborted);
    signal.addEventListener('abort', () => resolve(aborted), { once: true });
  });
  for (let outage = 0; !signal.aborted; ) {
    let subscription: Subscription | null = null;
    try {
      subscription = await deps.subscribe();
      deps.onSubscribed(subscription);
      outage = 0;
      const messages = subscription[Symbol.asyncIterator]();
      for (;;) {
        const next = await Promise.race([messages.next(), stopped]);
        if (next === aborted || next.done) break;
        deps.dispatch(next.value);
        await Promise.race([deps.acks.waitForRoom(), stopped]);
      }
    } catch (error) {
      if (!signal.aborted) {
        deps.onOutage(error);
        await sleep(backoffDelay(Math.min(outage++, 10), deps.retry), signal);
      }
    } finally {
      await deps.drain();
      await subscription?.close();
    }
  }
}
