import { openPool, type PoolLike } from '../../store/connect.ts';
import type { PostgresSettings } from './options.ts';
import { topicPartitions } from './sql.ts';

/**
 * What publishing and subscribing share: the broker's pool (opened on first use, and again after
 * close()), where it is for logs, and each topic's partition count, looked up once.
 */
export function createBrokerClient(settings: PostgresSettings) {
  let opened: { pool: PoolLike; owned: boolean; target: string } | null = null;
  const counts = new Map<string, number>();
  const open = () => {
    opened ??= openPool(settings.db, 4);
    return opened;
  };
  return {
    open,
    /** A topic's partitions: the count it was made with, or `partitions` for a new topic (made now). */
    async partitionsOf(topic: string): Promise<number> {
      let n = counts.get(topic);
      if (n === undefined) {
        n = await topicPartitions(open().pool, settings.schema, topic, settings.partitions);
        counts.set(topic, n);
      }
      return n;
    },
    async close(): Promise<void> {
      const o = opened;
      opened = null;
      counts.clear();
      if (o?.owned) await o.pool.end?.().catch(() => {});
    },
  };
}

export type BrokerClient = ReturnType<typeof createBrokerClient>;
