import { HeraldError } from '../../errors.ts';
import type { Connection } from './client.ts';
import { apiCode, apiCodes } from './errors.ts';
import { groupToken } from './names.ts';
import { type NatsSettings, nanos } from './options.ts';

/** The stream of group leases: one subject per group, one message (the holder) per subject. */
export const leaseStream = 'HERALD_LEASES';
const leaseSubjects = '$HERALD.lease.*';
const wrongLastSequence = 10071;

/**
 * One member of a group reads at a time, as with a Kafka group of one partition per member...
 * but for all partitions: JetStream (2.9) has no exclusive pull consumer, and with
 * AckPolicy.All a member's ack would cover messages another member still works on. The holder
 * of the group's lease reads; the others wait, and take over when it closes (the lease is
 * released) or dies (its last renewal ages out of the stream after `groupLeaseMs`).
 *
 * The lease is a message on `$HERALD.lease.<group>` in a stream with max_age = the lease time
 * and one message per subject: acquired by publishing with "expected last subject sequence" 0
 * (or the holder's own, when this transport held it before a reconnect), renewed the same way.
 */
export async function ensureLeaseStream(conn: Connection, settings: NatsSettings): Promise<number> {
  try {
    // The stream's max_age is the lease time every member goes by, whatever its own option says.
    const info = await conn.deadline(conn.jsm.streams.info(leaseStream));
    const ms = Math.round(info.config.max_age / 1_000_000);
    return ms > 0 ? ms : settings.groupLeaseMs;
  } catch (error) {
    if (apiCode(error) !== apiCodes.streamNotFound) throw error;
  }
  try {
    await conn.deadline(
      conn.jsm.streams.add({
        name: leaseStream,
        subjects: [leaseSubjects],
        storage: conn.lib.jetstream.StorageType.File,
        num_replicas: settings.replicas,
        max_msgs_per_subject: 1,
        max_age: nanos(settings.groupLeaseMs),
        description: 'herald consumer group leases',
      }),
    );
  } catch (error) {
    if (apiCode(error) !== apiCodes.streamNameInUse) throw error;
  }
  return settings.groupLeaseMs;
}

export interface Lease {
  /** Takes the lease if it is free (or already this owner's); true when held. */
  acquire(): Promise<boolean>;
  /** Renews a held lease; false when another member has it now. */
  renew(): Promise<boolean>;
  /** Held, and renewed recently enough that no other member can have taken it over. */
  valid(): boolean;
  release(): Promise<void>;
}

export function groupLease(conn: Connection, group: string, owner: string, leaseMs: number): Lease {
  const subject = `$HERALD.lease.${groupToken(group)}`;
  let seq = 0;
  let renewedAt = 0;
  const publish = async (expected: number): Promise<boolean> => {
    const startedAt = Date.now();
    try {
      const ack = await conn.deadline(conn.js.publish(subject, owner, { expect: { lastSubjectSequence: expected } }));
      seq = ack.seq;
      renewedAt = startedAt;
      return true;
    } catch (error) {
      if (apiCode(error) === wrongLastSequence) return false;
      throw error;
    }
  };
  return {
    async acquire() {
      if (seq > 0) return true;
      const current = await conn.deadline(conn.jsm.streams.getMessage(leaseStream, { last_by_subj: subject }));
      if (current && current.string() !== owner) return false;
      return publish(current?.seq ?? 0);
    },
    async renew() {
      if (seq === 0) return false;
      const held = await publish(seq);
      if (!held) seq = 0;
      return held;
    },
    // Two thirds of the lease: a pull request sent now ends before another member could take over.
    valid: () => seq > 0 && Date.now() - renewedAt < (leaseMs * 2) / 3,
    async release() {
      if (seq === 0) return;
      const held = seq;
      seq = 0;
      await conn.deadline(conn.jsm.streams.deleteMessage(leaseStream, held, false)).catch(() => {
        // Not released: it ages out.
      });
    },
  };
}

export const leaseLost = (group: string) =>
  new HeraldError('HERALD_BROKER_UNAVAILABLE', `group ${group}: another member took over the group's lease`, {
    retriable: true,
  });
