import { HeraldError } from '../errors.ts';
import { retry } from '../retry/retry.ts';
import type { WireFormat } from '../wire/format.ts';
import type { Delivery, IncomingMessage, Subscription, Transport } from './transport.ts';

/**
 * A transport that publishes and reads messages in `format` (wire/format.ts): every message the
 * relay, replay or a dead letter's retry publishes is encoded on the way out, every delivery a
 * consumer reads is decoded on the way in. Give the relay and the consumers the same one.
 *
 * Encoding runs inside publish: an outage of a registry is an outage (retried without limit), an
 * event that cannot be encoded fails its publish for good (the relay dead-letters it). Decoding
 * retries an outage in place, without limit, holding the subscription (a registry that is away is
 * never a reason to dead-letter); any other failure marks the delivery `undecodable`, and the
 * consumer dead-letters it with that reason.
 */
export function withFormat(transport: Transport, format: WireFormat): Transport {
  const name = transport.name;
  return {
    name,
    connect: () => transport.connect(),
    close: () => transport.close(),
    describe: () => `${transport.describe()} (${format.name})`,
    async publish(messages) {
      const encoded = [];
      for (const m of messages) encoded.push(await format.encode(m, name));
      await transport.publish(encoded);
    },
    async subscribe(options) {
      const inner = await transport.subscribe(options);
      const closing = new AbortController();
      const decoded: Subscription = {
        lag: () => inner.lag(),
        ...(inner.assignment ? { assignment: () => inner.assignment?.() ?? [] } : {}),
        async close() {
          closing.abort();
          await inner.close();
        },
        async *[Symbol.asyncIterator]() {
          for await (const delivery of inner) {
            // Already unreadable (the transport said why): nothing to decode, nothing to ask a registry.
            if (delivery.undecodable) {
              yield delivery;
              continue;
            }
            const outcome = await retry(async () => format.decode(delivery, name), {
              signal: closing.signal,
              attempts: 1,
            });
            if (outcome.ok) yield as(delivery, outcome.value);
            else if (outcome.stopped) return;
            else yield as(delivery, { ...delivery, undecodable: reason(outcome.error) });
          }
        },
      };
      return decoded;
    },
  };
}

/** The delivery, acknowledged as itself, with the decoded message's contents. */
function as(delivery: Delivery, message: IncomingMessage): Delivery {
  if (message === delivery) return delivery;
  // Own properties over the delivery (which may be frozen, or a class with methods).
  const own = (value: unknown) => ({ value, enumerable: true, writable: true });
  return Object.create(delivery, {
    value: own(message.value),
    headers: own(message.headers),
    key: own(message.key),
    ...(message.undecodable ? { undecodable: own(message.undecodable) } : {}),
  }) as Delivery;
}

function reason(error: unknown): Error {
  if (error instanceof Error) return error;
  return new HeraldError('HERALD_UNDECODABLE_MESSAGE', String(error));
}
