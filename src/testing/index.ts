import type { OutgoingMessage, Transport } from '../transports/transport.ts';

/**
 * An in-memory transport for users' own unit tests: it records what the relay published.
 * It is not a broker and proves nothing about one; Herald's own tests use real brokers.
 */
export interface MemoryTransport extends Transport {
  readonly messages: OutgoingMessage[];
  /** Messages published to one topic, in order. */
  topic(name: string): OutgoingMessage[];
  /** Makes the next `count` publish calls fail, to test retry paths. */
  failNext(count: number, error?: Error): void;
  clear(): void;
}

export function memoryTransport(): MemoryTransport {
  const messages: OutgoingMessage[] = [];
  let failures = 0;
  let failure: Error = new Error('memory transport: injected failure');
  return {
    name: 'memory',
    messages,
    describe: () => 'memory',
    async connect() {},
    async close() {},
    async publish(batch) {
      if (failures > 0) {
        failures--;
        throw failure;
      }
      messages.push(...batch);
    },
    topic: (name) => messages.filter((m) => m.topic === name),
    failNext(count, error) {
      failures = count;
      if (error) failure = error;
    },
    clear() {
      messages.length = 0;
    },
  };
}
