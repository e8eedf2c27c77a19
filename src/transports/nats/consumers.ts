import type { ConsumerConfig, ConsumerInfo } from '@nats-io/jetstream';
import { HeraldError } from '../../errors.ts';
import type { Connection } from './client.ts';
import { apiCode, apiCodes } from './errors.ts';
import { type NatsSettings, nanos } from './options.ts';

export interface GroupPartition {
  stream: string;
  /** The durable consumer's name: the group's and the partition's. */
  name: string;
  /** `<destination>.<partition>`: the consumer's filter. */
  subject: string;
  group: string;
  partition: number;
  from: 'earliest' | 'latest';
}

async function infoOrNull(conn: Connection, stream: string, name: string): Promise<ConsumerInfo | null> {
  try {
    return await conn.deadline(conn.jsm.consumers.info(stream, name));
  } catch (error) {
    if (apiCode(error) === apiCodes.consumerNotFound) return null;
    throw error;
  }
}

/**
 * Makes the group's durable pull consumer of one partition ready to read from the group's
 * position: AckPolicy.All (an ack covers every earlier message of the partition: the port's
 * prefix acknowledgement), a bounded max_ack_pending, and a new group starting at the first
 * message (`earliest`) or after the last one (`latest`).
 *
 * A consumer that still has unacknowledged deliveries (its previous subscriber died, or closed
 * with work not done) is re-created at its ack floor. Otherwise JetStream would send those
 * messages again only after ack_wait, and new ones first; with AckPolicy.All an ack of a new one
 * would then cover the unsent ones: lost. Re-created, it reads them again, in order, at once.
 */
export async function ensureConsumer(conn: Connection, settings: NatsSettings, at: GroupPartition): Promise<void> {
  const { AckPolicy, DeliverPolicy } = conn.lib.jetstream;
  const base: Partial<ConsumerConfig> = {
    durable_name: at.name,
    description: `herald group ${at.group} partition ${at.partition}`,
    filter_subject: at.subject,
    ack_policy: AckPolicy.All,
    ack_wait: nanos(settings.ackWaitMs),
    max_ack_pending: settings.maxAckPending,
    max_deliver: -1,
  };
  const create = async (start: Partial<ConsumerConfig>) =>
    conn.deadline(conn.jsm.consumers.add(at.stream, { ...base, ...start } as ConsumerConfig));
  const info = await infoOrNull(conn, at.stream, at.name);
  if (info === null) {
    if (at.from === 'latest') {
      const stream = await conn.deadline(conn.jsm.streams.info(at.stream));
      await create({ deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: stream.state.last_seq + 1 });
    } else {
      await create({ deliver_policy: DeliverPolicy.All });
    }
    return;
  }
  if (info.config.ack_policy !== AckPolicy.All || info.config.filter_subject !== at.subject) {
    throw new HeraldError(
      'HERALD_INVALID_CONFIG',
      `group ${at.group}: consumer ${at.name} of stream ${at.stream} exists with another ack policy or filter ` +
        `(${info.config.ack_policy}, ${info.config.filter_subject}); it is not Herald's`,
      { details: { setting: 'group', stream: at.stream, consumer: at.name } },
    );
  }
  if (info.num_ack_pending > 0) {
    const acked = info.ack_floor.consumer_seq > 0;
    const start: Partial<ConsumerConfig> = acked
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: info.ack_floor.stream_seq + 1 }
      : {
          deliver_policy: info.config.deliver_policy,
          ...(info.config.opt_start_seq ? { opt_start_seq: info.config.opt_start_seq } : {}),
        };
    await conn.deadline(conn.jsm.consumers.delete(at.stream, at.name));
    await create(start);
    return;
  }
  if (info.config.ack_wait !== base.ack_wait || info.config.max_ack_pending !== base.max_ack_pending) {
    await conn.deadline(
      conn.jsm.consumers.update(at.stream, at.name, {
        ack_wait: base.ack_wait as number,
        max_ack_pending: base.max_ack_pending as number,
      }),
    );
  }
}

/** The group's position in one partition, as the port's PartitionLag wants it. */
export async function partitionLag(conn: Connection, at: GroupPartition) {
  const [info, last] = await Promise.all([
    conn.deadline(conn.jsm.consumers.info(at.stream, at.name)),
    conn.deadline(conn.jsm.streams.getMessage(at.stream, { last_by_subj: at.subject })),
  ]);
  // Positions are stream sequences, each "the next to read" like a Kafka offset: committed is
  // the ack floor + 1 (or where the group was set to start), end the last message's + 1.
  const committed =
    info.ack_floor.consumer_seq > 0
      ? String(info.ack_floor.stream_seq + 1)
      : info.config.opt_start_seq
        ? String(info.config.opt_start_seq)
        : null;
  const end = last ? String(last.seq + 1) : (committed ?? '1');
  return { committed, end, lag: info.num_pending + info.num_ack_pending };
}
