// The publisher of the consume bench's latency phase, on a thread of its own: the consumer's
// event loop is not the publishing application's, as in production where they are separate
// processes. Started by consume-latency.ts; times are epoch milliseconds, comparable across threads.
import { setTimeout as sleep } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { kafka } from '../src/transports/kafka/index.ts';
import { buildDeliveries } from './consume-baseline.ts';

export interface PublisherRequest {
  brokers: string[];
  topic: string;
  rate: number;
  /** Events paced at `rate`, after one published at once (the consumer's sign that it joined). */
  total: number;
  keys: number;
}

export interface PublisherResult {
  /** Per paced event (payload n - 1): when its publish was called, epoch ms. */
  publishedAt: Float64Array;
  /** Per paced event: publish called → the broker's acknowledgement, ms. */
  ackMs: Float64Array;
  seconds: number;
}

/** Events published at once at most: the pacer's ticks are 1 ms, a slow broker holds more. */
const maxPublishing = 64;
const now = () => performance.timeOrigin + performance.now();

const request = workerData as PublisherRequest;
const port = parentPort as NonNullable<typeof parentPort>;
const { deliveries } = buildDeliveries(request.topic, request.total + 1, 0, request.keys);
const publisher = kafka({ brokers: request.brokers, clientId: 'herald-bench-latency-publisher' });
try {
  await publisher.publish(deliveries.slice(0, 1));
  const go = new Promise((resolve) => port.once('message', resolve));
  port.postMessage('joining');
  await go;
  const { rate, total } = request;
  const publishedAt = new Float64Array(total);
  const ackMs = new Float64Array(total);
  const started = performance.now();
  let issued = 0;
  const publishing = new Set<Promise<void>>();
  while (issued < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) * rate) / 1000) + 1);
    if (issued < due && publishing.size < maxPublishing) {
      const from = issued;
      const at = now();
      publishedAt.fill(at, from, due);
      issued = due;
      const p = publisher.publish(deliveries.slice(from + 1, due + 1)).then(() => {
        ackMs.fill(now() - at, from, due);
        publishing.delete(p);
      });
      publishing.add(p);
    } else await sleep(1);
  }
  await Promise.all(publishing);
  const result: PublisherResult = { publishedAt, ackMs, seconds: (performance.now() - started) / 1000 };
  port.postMessage(result);
} finally {
  await publisher.close();
}
