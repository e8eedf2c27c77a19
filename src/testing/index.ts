import type { Delivery, OutgoingMessage, PartitionLag, Transport } from '../transports/transport.ts';

/**
 * An in-memory transport for users' own unit tests: it records what the relay published and
 * delivers it to consumers (one partition per topic, one member per group). It is not a broker
 * and proves nothing about one; Herald's own tests use real brokers.
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
  /** Per group and topic: how many messages of the topic the group has acknowledged. */
  const committed = new Map<string, number>();
  const waiters = new Set<() => void>();
  let failures = 0;
  let failure: Error = new Error('memory transport: injected failure');
  const topic = (name: string) => messages.filter((m) => m.topic === name);
  const wake = () => {
    for (const w of waiters) w();
    waiters.clear();
  };
  return {
    name: 'memory',
    messages,
    describe: () => 'memory',
    async connect() {},
    async close() {
      wake();
    },
    async publish(batch) {
      if (failures > 0) {
        failures--;
        throw failure;
      }
      messages.push(...batch);
      wake();
    },
    async subscribe({ group, topics, from }) {
      const slot = (t: string) => `${group}\u0000${t}`;
      for (const t of topics)
        if (!committed.has(slot(t))) committed.set(slot(t), from === 'latest' ? topic(t).length : 0);
      const read = new Map(topics.map((t) => [t, committed.get(slot(t)) as number]));
      let closed = false;
      return {
        async *[Symbol.asyncIterator](): AsyncGenerator<Delivery> {
          while (!closed) {
            let delivered = false;
            for (const t of topics) {
              const list = topic(t);
              const at = read.get(t) as number;
              if (at >= list.length) continue;
              const m = list[at] as OutgoingMessage;
              read.set(t, at + 1);
              delivered = true;
              yield {
                topic: t,
                partition: 0,
                offset: String(at),
                key: m.key,
                value: m.value,
                headers: { ...m.headers },
                ack: async () => {
                  committed.set(slot(t), Math.max(committed.get(slot(t)) ?? 0, at + 1));
                },
              };
            }
            if (!delivered && !closed) await new Promise<void>((resolve) => waiters.add(resolve));
          }
        },
        async close() {
          closed = true;
          wake();
        },
        async lag(): Promise<PartitionLag[]> {
          return topics.map((t) => {
            const end = topic(t).length;
            const done = committed.get(slot(t)) ?? 0;
            return { topic: t, partition: 0, committed: String(done), end: String(end), lag: end - done };
          });
        },
      };
    },
    topic,
    failNext(count, error) {
      failures = count;
      if (error) failure = error;
    },
    clear() {
      messages.length = 0;
      committed.clear();
    },
  };
}
