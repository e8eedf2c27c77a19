import type { OutgoingMessage, SubscribeOptions, Subscription, Transport } from './transport.ts';

/** The publishing side of an adapter (its `publish.ts`): a connection opened on first use. */
export interface Publisher {
  /** Opens the connection, or checks it (again after close() or a failure). */
  connect(): Promise<void>;
  publish(messages: readonly OutgoingMessage[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * A transport from its parts, as every adapter's factory (`index.ts`) makes it: the publishing
 * side, subscribe, and where the broker is for logs (never credentials). Closing it closes the
 * publishing side, unless the adapter has more to close.
 */
export function transportOf(
  name: string,
  parts: {
    describe(): string;
    publisher: Publisher;
    subscribe(options: SubscribeOptions): Promise<Subscription>;
    close?(): Promise<void>;
  },
): Transport {
  const { publisher } = parts;
  return {
    name,
    describe: () => parts.describe(),
    connect: () => publisher.connect(),
    publish: (messages) => publisher.publish(messages),
    subscribe: (options) => parts.subscribe(options),
    close: () => (parts.close ? parts.close() : publisher.close()),
  };
}
