/**
 * NATS: the members of one consumer group. JetStream 2.9 has no exclusive pull consumer, so the
 * transport lets one member (the holder of the group's lease) read; these tests check that a
 * second member reads nothing meanwhile, and takes over, from the group's ack floor and in
 * order, when the first closes or is killed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { isHeraldError } from '../../../src/index.ts';
import { nats } from '../../../src/transports/nats/index.ts';
import { leaseStream } from '../../../src/transports/nats/lease.ts';
import type { Delivery, OutgoingMessage, Subscription } from '../../../src/transports/transport.ts';
import { uniqueName } from '../../support/env.ts';

const servers = process.env.NATS_URL ?? '127.0.0.1:4222';
const streams: string[] = [];

async function manager<T>(fn: (jsm: Awaited<ReturnType<typeof jetstreamManager>>) => Promise<T>): Promise<T> {
  const nc = await connect({ servers });
  try {
    return await fn(await jetstreamManager(nc));
  } finally {
    await nc.close();
  }
}
after(() => manager(async (jsm) => Promise.all(streams.map((s) => jsm.streams.delete(s).catch(() => false)))));

async function destination(partitions: number): Promise<string> {
  const name = uniqueName('herald-group');
  streams.push(name);
  await manager((jsm) =>
    jsm.streams.add({
      name,
      subjects: [`${name}.*`],
      storage: StorageType.File,
      description: `herald partitions=${partitions}`,
    }),
  );
  return name;
}

const message = (topic: string, i: number): OutgoingMessage => ({
  id: `${topic}-${i}`,
  topic,
  key: `k${i % 4}`,
  value: Buffer.from(JSON.stringify({ i })),
  headers: {},
});

/** Reads up to `count` deliveries within `timeoutMs` from one iterator (a read left waiting is kept for the next call). */
function reader(subscription: Subscription) {
  const it = subscription[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<Delivery>> | null = null;
  return async (count: number, timeoutMs: number): Promise<Delivery[]> => {
    const out: Delivery[] = [];
    const deadline = Date.now() + timeoutMs;
    while (out.length < count) {
      pending ??= it.next();
      let timer: NodeJS.Timeout | undefined;
      const next = await Promise.race([
        pending,
        new Promise<null>((r) => {
          timer = setTimeout(() => r(null), Math.max(0, deadline - Date.now()));
        }),
      ]);
      clearTimeout(timer);
      if (next === null) break;
      pending = null;
      if (next.done) break;
      out.push(next.value);
    }
    return out;
  };
}

/** What a partition still owes the group after acknowledging the first `acked` deliveries of each partition. */
const rest = (got: Delivery[], acked: number) => {
  const byPartition = new Map<number, string[]>();
  for (const d of got) byPartition.set(d.partition, [...(byPartition.get(d.partition) ?? []), d.offset]);
  return [...byPartition.values()].flatMap((offsets) => offsets.slice(acked)).sort();
};

const ackFirst = async (got: Delivery[], acked: number) => {
  const seen = new Map<number, number>();
  for (const d of got) {
    const n = (seen.get(d.partition) ?? 0) + 1;
    seen.set(d.partition, n);
    if (n === acked) await d.ack();
  }
};

/** The lease time every member goes by: the lease stream's max_age. */
const leaseMs = () => manager(async (jsm) => (await jsm.streams.info(leaseStream)).config.max_age / 1_000_000);

describe('nats transport: one member of a group reads at a time', () => {
  it('a second member waits, and takes over from the ack floor when the first closes', async () => {
    const topic = await destination(2);
    const a = nats({ servers, timeoutMs: 2000 });
    const b = nats({ servers, timeoutMs: 2000 });
    const group = uniqueName('g');
    await a.publish(Array.from({ length: 20 }, (_, i) => message(topic, i)));
    const first = await (a.subscribe as NonNullable<typeof a.subscribe>)({ group, topics: [topic] });
    const second = await (b.subscribe as NonNullable<typeof b.subscribe>)({ group, topics: [topic] });
    try {
      const got = await reader(first)(20, 10_000);
      assert.equal(got.length, 20);
      const take = reader(second);
      assert.deepEqual(await take(1, 2_000), [], 'the waiting member reads nothing');
      assert.deepEqual(await second.lag(), []);
      await ackFirst(got, 3);
      await first.close();
      const left = rest(got, 3);
      const again = await take(left.length, 15_000);
      assert.deepEqual(again.map((d) => d.offset).sort(), left);
      for (const p of [0, 1]) {
        const offsets = again.filter((d) => d.partition === p).map((d) => Number(d.offset));
        assert.deepEqual(
          offsets,
          [...offsets].sort((x, y) => x - y),
          `order of partition ${p}`,
        );
      }
    } finally {
      await first.close();
      await second.close();
      await a.close();
      await b.close();
    }
  });

  it('refuses a second open subscription of one group on one transport', async () => {
    const topic = await destination(1);
    const t = nats({ servers });
    const group = uniqueName('g');
    const first = await (t.subscribe as NonNullable<typeof t.subscribe>)({ group, topics: [topic] });
    try {
      await assert.rejects((t.subscribe as NonNullable<typeof t.subscribe>)({ group, topics: [topic] }), (e) =>
        isHeraldError(e, 'HERALD_INVALID_CONFIG'),
      );
    } finally {
      await first.close();
      await t.close();
    }
  });

  it('takes over from a member that was killed, once its lease ages out', async () => {
    const topic = await destination(1);
    const group = uniqueName('g');
    const t = nats({ servers, timeoutMs: 2000 });
    await t.publish(Array.from({ length: 10 }, (_, i) => message(topic, i)));
    // A member in another process reads all ten, acknowledges the first four, and is killed.
    const child = spawn(
      process.execPath,
      [fileURLToPath(new URL('../../support/nats-member.ts', import.meta.url)), servers, group, topic, '10', '4'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    assert.equal(line.toString().trim(), 'read 10, acked 4');
    const standby = await (t.subscribe as NonNullable<typeof t.subscribe>)({ group, topics: [topic] });
    try {
      child.kill('SIGKILL');
      await once(child, 'exit');
      const started = Date.now();
      const again = await reader(standby)(6, (await leaseMs()) * 2 + 10_000);
      assert.deepEqual(
        again.map((d) => JSON.parse(d.value.toString()).i),
        [4, 5, 6, 7, 8, 9],
      );
      assert.ok(Date.now() - started < (await leaseMs()) * 2 + 5_000);
    } finally {
      await standby.close();
      await t.close();
    }
  });
});
