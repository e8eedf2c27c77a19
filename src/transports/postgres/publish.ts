import { checkDestination } from '../../config/names.ts';
import { HeraldError } from '../../errors.ts';
import { assertMigrated } from '../../store/migrate.ts';
import type { Publisher } from '../adapter.ts';
import { partitionOf } from '../partition.ts';
import type { OutgoingMessage } from '../transport.ts';
import type { BrokerClient } from './client.ts';
import { brokerError } from './errors.ts';
import type { PostgresSettings } from './options.ts';
import { appendMessages } from './sql.ts';

/** A message's size as the limit counts it: body, key, and header names and values. */
function messageBytes(m: OutgoingMessage): number {
  let bytes = m.value.length + Buffer.byteLength(m.key);
  for (const [k, v] of Object.entries(m.headers)) bytes += Buffer.byteLength(k) + Buffer.byteLength(v);
  return bytes;
}

/** Every message of a batch checked before anything is written: a destination, and the size limit. */
function checkBatch(settings: PostgresSettings, messages: readonly OutgoingMessage[]): void {
  for (const m of messages) {
    checkDestination(m.topic, `topic of event ${m.id}`);
    const bytes = messageBytes(m);
    const max = settings.maxMessageBytes(m.topic);
    if (bytes > max) {
      throw new HeraldError(
        'HERALD_MESSAGE_TOO_LARGE',
        `message ${m.id} is ${bytes} bytes, over the ${max} accepted for ${m.topic}`,
        { details: { id: m.id, bytes, max } },
      );
    }
  }
}

/**
 * The publishing side of a postgres() transport: a batch is one INSERT, in order, each message in
 * the partition of its key (FNV-1a); the commit is the acknowledgement.
 */
export function createPublisher(settings: PostgresSettings, client: BrokerClient): Publisher {
  return {
    /** Checks the broker's tables are there (`herald migrate`). */
    async connect(): Promise<void> {
      const { pool, target } = client.open();
      try {
        await assertMigrated(pool, settings.schema);
      } catch (error) {
        throw brokerError(error, target);
      }
    },
    async publish(messages: readonly OutgoingMessage[]): Promise<void> {
      checkBatch(settings, messages);
      const { pool, target } = client.open();
      try {
        const rows = [];
        for (const m of messages) {
          const partition = partitionOf(m.key, await client.partitionsOf(m.topic));
          rows.push({ topic: m.topic, partition, id: m.id, key: m.key, value: m.value, headers: m.headers });
        }
        if (rows.length > 0) await appendMessages(pool, settings.schema, rows);
      } catch (error) {
        throw brokerError(error, target);
      }
    },
    /** Closes the broker's pool (if the transport opened it); the next call opens it again. */
    close: () => client.close(),
  };
}
