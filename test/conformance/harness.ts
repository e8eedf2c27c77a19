// What the conformance suite needs of a transport under test, and how it reads deliveries.
import type { Delivery, Subscription, Transport } from '../../src/transports/transport.ts';

export interface RawMessage {
  key: string | null;
  /** Header (or application property, message attribute) names and values as on the wire. */
  headers: Record<string, string>;
  body: string;
}

export interface TransportUnderTest {
  name: string;
  /** A new transport instance (the suite closes it). */
  make(): Transport;
  /**
   * A new destination of `partitions` ordered streams, ready to publish to, that `groups` will
   * consume (brokers that route to per-group queues, such as RabbitMQ and SQS, make them now, so
   * that what is published before a group first subscribes waits for it); returns its name.
   */
  destination(partitions: number, groups: string[]): Promise<string>;
  /** The wire name of a CloudEvents attribute in this binding, e.g. `ce_id` or `cloudEvents_id`. */
  attributeName(attribute: string): string;
  /**
   * Reads `count` messages of a destination as they are on the wire, with the broker's own client,
   * as `group` (a group `destination()` was told of; brokers with shared logs may ignore it). It
   * may take the messages from the group's queue: each is read once.
   */
  readRaw(destination: string, count: number, group: string): Promise<RawMessage[]>;
  /** A destination whose broker refuses messages over `bytes` (the limit set for it, or the broker's). */
  oversized(groups: string[]): Promise<{ destination: string; bytes: number }>;
  /**
   * A broker of this kind of the suite's own, for the test that stops and starts it: a private
   * instance on free ports (infra/), never the shared service, which may be the user's own.
   * Rejects with infra's ServiceUnavailable when none can run here (the test is skipped, saying why).
   */
  privateBroker(): Promise<PrivateBroker>;
}

/** The private broker of the stop-and-start test, with the transport under test on it. */
export interface PrivateBroker extends Pick<TransportUnderTest, 'make' | 'destination'> {
  stopBroker(): Promise<void>;
  startBroker(): Promise<void>;
  /**
   * The database of the test's schema when stopping the broker stops it too (the PostgreSQL
   * transport, whose broker is the database); when unset, the shared one.
   */
  databaseUrl?: string;
  /** Kills it and removes its files (and closes what the test file opened on it). */
  destroy(): Promise<void>;
}

const iterators = new WeakMap<Subscription, AsyncIterator<Delivery>>();
/** Pending reads of an iterator left by a `take()` that timed out: the next `take()` awaits them. */
const leftovers = new WeakMap<AsyncIterator<Delivery>, Promise<IteratorResult<Delivery>>>();

/**
 * Reads deliveries until `count` arrived (or `timeoutMs`), without acknowledging them. One
 * iterator per subscription, and a read that timed out is carried over, so no message is lost
 * between calls. (Transports that bound unacknowledged messages need room for a partition's share.)
 */
export async function take(
  subscription: Subscription,
  count: number,
  timeoutMs = 30_000,
  ackEach = false,
): Promise<Delivery[]> {
  const out: Delivery[] = [];
  let it = iterators.get(subscription);
  if (!it) {
    it = subscription[Symbol.asyncIterator]();
    iterators.set(subscription, it);
  }
  const deadline = Date.now() + timeoutMs;
  while (out.length < count) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    let timer: NodeJS.Timeout | undefined;
    const read = leftovers.get(it) ?? it.next();
    leftovers.set(it, read);
    const next = await Promise.race([
      read,
      new Promise<null>((r) => {
        timer = setTimeout(() => r(null), left);
      }),
    ]);
    clearTimeout(timer);
    if (next === null) break;
    leftovers.delete(it);
    if (next.done) break;
    out.push(next.value);
    if (ackEach) await next.value.ack();
  }
  return out;
}
