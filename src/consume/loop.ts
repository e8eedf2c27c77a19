import { abortableWaits, aborted } from '../retry/abortable.ts';
import { type BackoffOptions, backoffDelay, sleep } from '../retry/backoff.ts';
import { retry } from '../retry/retry.ts';
import type { Delivery, Subscription } from '../transports/transport.ts';

/**
 * Subscribes, hands each delivery to `dispatch` while there is room in flight, and subscribes
 * again after a failure, with backoff (the broker is away: an outage, never a message's fault).
 * At stop (the signal) it stops fetching at once, lets `drain` finish and acknowledge the work
 * under way, and only then closes the subscription, so the acknowledgements still reach the broker.
 */
export async function consumeLoop(deps: {
  subscribe: () => Promise<Subscription>;
  onSubscribed: (subscription: Subscription) => void;
  dispatch: (delivery: Delivery) => void;
  acks: { hasRoom(): boolean; waitForRoom(): Promise<void> };
  signal: AbortSignal;
  onOutage: (error: unknown) => void;
  retry: BackoffOptions;
  drain: () => Promise<void>;
}): Promise<void> {
  const { signal } = deps;

  /**
   * One subscription's life: read until it ends, fails or the consumer stops. Failing to subscribe
   * throws (the retry below paces the next try); a subscription that fails later is reported and
   * ends after a short pause, and the next one starts with the backoff from the beginning.
   */
  const readAll = async () => {
    let subscription: Subscription | null = null;
    const waits = abortableWaits(signal);
    try {
      subscription = await deps.subscribe();
      deps.onSubscribed(subscription);
      const messages = subscription[Symbol.asyncIterator]();
      for (;;) {
        const next = await waits.wait(messages.next());
        if (next === aborted || next.done) break;
        deps.dispatch(next.value);
        // Most messages find room: no promise to wait on for those.
        if (!deps.acks.hasRoom()) await waits.wait(deps.acks.waitForRoom());
      }
    } catch (error) {
      if (!subscription) throw error;
      if (!signal.aborted) deps.onOutage(error);
    } finally {
      waits.close();
      await deps.drain();
      await subscription?.close();
    }
    if (!signal.aborted) await sleep(backoffDelay(0, deps.retry), signal);
  };

  while (!signal.aborted) {
    await retry(readAll, {
      signal,
      backoff: deps.retry,
      retryPermanent: true,
      onError: (error) => {
        if (!signal.aborted) deps.onOutage(error);
      },
    });
  }
}
