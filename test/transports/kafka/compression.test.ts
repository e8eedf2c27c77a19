import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Admin } from '@platformatic/kafka';
import { kafka } from '../../../src/transports/kafka/index.ts';
import type { OutgoingMessage } from '../../../src/transports/transport.ts';
import { eventMessage } from '../../support/consumer.ts';
import { brokers } from '../../support/env.ts';
import { createTopic, readTopic } from '../../support/kafka.ts';

/** Bytes the broker keeps for a topic (every partition, every log dir). */
async function topicBytes(topic: string): Promise<number> {
  const admin = new Admin({ clientId: 'herald-test-admin', bootstrapBrokers: brokers });
  try {
    const dirs = await admin.describeLogDirs({ topics: [{ name: topic, partitions: [0] }] });
    let bytes = 0n;
    for (const broker of dirs)
      for (const dir of broker.results)
        for (const t of dir.topics) if (t.name === topic) for (const p of t.partitions) bytes += p.partitionSize;
    return Number(bytes);
  } finally {
    await admin.close();
  }
}

describe('kafka(): compression per destination', () => {
  const closing: { close(): Promise<void> }[] = [];
  after(async () => {
    for (const c of closing) await c.close();
  });

  it('compresses each destination with its codec; a plain consumer reads every one back; the broker keeps fewer bytes', async (t) => {
    const codecs = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
    const topics = new Map<string, string>();
    for (const codec of codecs) topics.set(codec, await createTopic(1, `herald-compress-${codec}`));
    const topicOf = (codec: string) => topics.get(codec) as string;
    // #region compression
    const transport = kafka({
      brokers,
      compression: 'gzip', // every destination not named below
      compressionByDestination: {
        [topicOf('none')]: 'none',
        [topicOf('snappy')]: 'snappy',
        [topicOf('lz4')]: 'lz4',
        [topicOf('zstd')]: 'zstd',
      },
    });
    // #endregion compression
    closing.push(transport);
    // Compressible payloads, interleaved across the destinations in one batch: runs of one codec
    // go out one after the other, in order.
    const messages: OutgoingMessage[] = [];
    for (let i = 0; i < 30; i++) {
      for (const codec of codecs) {
        const line = {
          i,
          codec,
          note: `order line ${i} `.repeat(60),
          items: Array.from({ length: 20 }, (_, n) => ({ sku: `sku-${n}`, qty: n })),
        };
        messages.push(eventMessage(topicOf(codec), 'order.line', line, { key: `k${i}` }));
      }
    }
    await transport.publish(messages);

    const sizes = new Map<string, number>();
    for (const codec of codecs) {
      const read = await readTopic(topicOf(codec), 30);
      assert.equal(read.length, 30, codec);
      assert.deepEqual(
        read.map((r) => JSON.parse(r.value).i),
        Array.from({ length: 30 }, (_, i) => i),
        `${codec}: every message, in order`,
      );
      assert.ok(read.every((r) => JSON.parse(r.value).codec === codec));
      sizes.set(codec, await topicBytes(topicOf(codec)));
    }
    t.diagnostic(`bytes kept per codec: ${JSON.stringify(Object.fromEntries(sizes))}`);
    const none = sizes.get('none') ?? 0;
    assert.ok(none > 30 * 1000, `the uncompressed topic holds the payloads (${none} bytes)`);
    for (const codec of codecs.slice(1)) {
      const size = sizes.get(codec) ?? 0;
      assert.ok(size > 0 && size < none / 2, `${codec}: ${size} bytes against ${none} uncompressed`);
    }
  });

  it('refuses an unknown codec for a destination, naming it', () => {
    assert.throws(
      () => kafka({ brokers, compressionByDestination: { audit: 'brotli' as 'gzip' } }),
      /^HeraldError: compressionByDestination\.audit: "brotli" must be/,
    );
  });
});
