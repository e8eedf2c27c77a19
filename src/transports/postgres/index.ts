import { HeraldError } from '../../errors.ts';
import { uuidv7 } from '../../events/uuidv7.ts';
import { checkDestination } from '../../events/validate.ts';
import { type DatabaseOption, openPool, type PoolLike, resolveDatabase } from '../../store/connect.ts';
import { resolveSchema } from '../../store/identifiers.ts';
import { assertMigrated } from '../../store/migrate.ts';
import { partitionOf } from '../partition.ts';

export { partitionOf };

import type { OutgoingMessage, Transport } from '../transport.ts';
import { brokerError } from './errors.ts';
import { appendMessages, expireMessages, topicPartitions } from './sql.ts';
import { subscribePostgres } from './subscribe.ts';

export interface PostgresTransportOptions {
  /** Connection string, pg Pool, or the PGlite pool from `herald/pglite`; default `DATABASE_URL`. */
  db?: DatabaseOption;
  /** The herald schema holding the broker tables (`herald migrate`); default `herald`. */
  schema?: string;
  /** Partitions of a new topic; default 8. A topic keeps the count it was made with. */
  partitions?: number;
  /**
   * Largest message (body and headers) accepted, in bytes; default 1 MiB, as Kafka's default.
   * PostgreSQL itself would take far more: the limit keeps one event from filling a table.
   * A function gives a limit per topic.
   */
  maxMessageBytes?: number | ((topic: string) => number);
  /** How often an idle subscription looks for new messages, in ms; default 100. NOTIFY wakes it sooner. */
  pollIntervalMs?: number;
  /** A member that stops heartbeating loses its partitions after this; default 10 000 ms. */
  leaseMs?: number;
  /** Messages are deleted this many days after they were published; default 7, 0 keeps them. */
  retentionDays?: number;
}

function messageBytes(m: OutgoingMessage): number {
  let bytes = m.value.length + Buffer.byteLength(m.key);
  for (const [k, v] of Object.entries(m.headers)) bytes += Buffer.byteLength(k) + Buffer.byteLength(v);
  return bytes;
}

/**
 * PostgreSQL as the broker: topics of ordered partitions in a table of the herald schema, each
 * consumer group's position per partition beside it. With the PGlite store from `herald/pglite`
 * it needs no server at all (the embedded default). Headers keep Kafka's `ce_` names.
 */
export function postgres(options: PostgresTransportOptions): Transport {
  const schema = resolveSchema(options.schema).name;
  const db = resolveDatabase(options.db);
  const partitions = options.partitions ?? 8;
  if (!(Number.isInteger(partitions) && partitions >= 1 && partitions <= 1024)) {
    throw new HeraldError(
      'HERALD_INVALID_CONFIG',
      `partitions: ${JSON.stringify(partitions)} must be an integer from 1 to 1024`,
      {
        details: { setting: 'partitions' },
      },
    );
  }
  const limit = options.maxMessageBytes ?? 1_048_576;
  const limitFor = typeof limit === 'function' ? limit : () => limit;
  let opened: { pool: PoolLike; owned: boolean; target: string } | null = null;
  const open = () => {
    opened ??= openPool(db, 4);
    return opened;
  };
  const counts = new Map<string, number>();
  /** One member id per group for this transport: a resubscribe after an outage keeps its leases. */
  const members = new Map<string, string>();
  // One hourly sweep of published messages per transport while it has subscriptions, however
  // many: the DELETE covers every topic of the schema.
  const retentionDays = options.retentionDays ?? 7;
  let subscribed = 0;
  let expiry: NodeJS.Timeout | null = null;
  const sweepWhileSubscribed = (pool: PoolLike) => {
    subscribed++;
    if (expiry || retentionDays <= 0) return;
    expiry = setInterval(() => void expireMessages(pool, schema, retentionDays).catch(() => {}), 3_600_000);
    expiry.unref();
  };
  const unsubscribed = () => {
    if (--subscribed > 0 || !expiry) return;
    clearInterval(expiry);
    expiry = null;
  };
  const partitionsOf = async (pool: PoolLike, topic: string) => {
    let n = counts.get(topic);
    if (n === undefined) {
      n = await topicPartitions(pool, schema, topic, partitions);
      counts.set(topic, n);
    }
    return n;
  };

  return {
    name: 'postgres',
    describe: () => `postgres:${open().target}/${schema}`,
    async connect() {
      const { pool, target } = open();
      try {
        await assertMigrated(pool, schema);
      } catch (error) {
        throw brokerError(error, target);
      }
    },
    async publish(messages: readonly OutgoingMessage[]) {
      for (const m of messages) {
        checkDestination(m.topic, `topic of event ${m.id}`);
        const bytes = messageBytes(m);
        const max = limitFor(m.topic);
        if (bytes > max) {
          throw new HeraldError(
            'HERALD_MESSAGE_TOO_LARGE',
            `message ${m.id} is ${bytes} bytes, over the ${max} accepted for ${m.topic}`,
            {
              details: { id: m.id, bytes, max },
            },
          );
        }
      }
      const { pool, target } = open();
      try {
        const rows = [];
        for (const m of messages) {
          const n = await partitionsOf(pool, m.topic);
          rows.push({
            topic: m.topic,
            partition: partitionOf(m.key, n),
            id: m.id,
            key: m.key,
            value: m.value,
            headers: m.headers,
          });
        }
        if (rows.length > 0) await appendMessages(pool, schema, rows);
      } catch (error) {
        throw brokerError(error, target);
      }
    },
    async subscribe(subscription) {
      const { pool, target } = open();
      const joined = await subscribePostgres(
        {
          pool,
          schema,
          target,
          member:
            members.get(subscription.group) ??
            (members.set(subscription.group, uuidv7()).get(subscription.group) as string),
          partitionsOf: (topic) => partitionsOf(pool, topic),
          pollIntervalMs: options.pollIntervalMs ?? 100,
          leaseMs: options.leaseMs ?? 10_000,
          listenTo: typeof db === 'string' ? db : pool,
        },
        subscription,
      );
      sweepWhileSubscribed(pool);
      let left = false;
      return {
        [Symbol.asyncIterator]: () => joined[Symbol.asyncIterator](),
        lag: () => joined.lag(),
        async close() {
          if (!left) {
            left = true;
            unsubscribed();
          }
          await joined.close();
        },
      };
    },
    async close() {
      if (expiry) clearInterval(expiry);
      expiry = null;
      subscribed = 0;
      const o = opened;
      opened = null;
      counts.clear();
      if (o?.owned) await o.pool.end?.().catch(() => {});
    },
  };
}
