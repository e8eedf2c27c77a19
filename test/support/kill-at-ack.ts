/**
 * What the crash tests' consumer processes share (test/support/consumer-child.ts on Kafka,
 * test/clients/crash-child.ts on each client): the event they handle, and a wrapper around the
 * transport port that SIGKILLs the process at the first acknowledgement after `killAfter` handled
 * events, when the handler's transaction has committed and the offset has not.
 */
import { z } from 'zod';
import { defineEvent } from '../../src/index.ts';
import type { Delivery, Subscription, Transport } from '../../src/transports/transport.ts';

export const stepEvent = (destination: string) =>
  defineEvent({
    type: 'order.step',
    version: 1,
    destination,
    schema: z.object({ key: z.string(), seq: z.number().int() }),
    key: (p) => p.key,
  });

/** `base` whose subscriptions yield what `deliveries` makes of the broker's deliveries. */
export function reshaped(
  base: Transport,
  deliveries: (inner: AsyncIterable<Delivery>) => AsyncIterable<Delivery>,
): Transport {
  return {
    ...base,
    async subscribe(options) {
      const inner = (await base.subscribe?.(options)) as Subscription;
      return {
        close: () => inner.close(),
        lag: () => inner.lag(),
        [Symbol.asyncIterator]: () => deliveries(inner)[Symbol.asyncIterator](),
      };
    },
  };
}

/** `base` with each delivery's ack() first SIGKILLing the process once `handled()` reaches `killAfter` (0: never). */
export function killAtAck(base: Transport, killAfter: number, handled: () => number): Transport {
  return reshaped(base, async function* (inner) {
    for await (const d of inner) {
      yield {
        ...d,
        ack: async () => {
          if (killAfter > 0 && handled() >= killAfter) process.kill(process.pid, 'SIGKILL');
          return d.ack();
        },
      };
    }
  });
}

/** A setting of the child process, required. */
export const childEnv = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};
