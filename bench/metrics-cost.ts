import { prometheusMetrics } from '../src/index.ts';
import { noMetrics } from '../src/observe/metrics.ts';
import { observedTransport } from '../src/relay/observed.ts';
import type { OutgoingMessage, Transport } from '../src/transports/transport.ts';
import { toMessage } from '../src/wire/outgoing.ts';
import { makePayload } from './payload.ts';

/**
 * What metrics add to one relay batch, measured without a broker (a transport that acknowledges at
 * once), so the figure is the recorder's own CPU time and not the noise of a shared machine: the
 * wrapped publish of `batch` messages with metrics on against off, microseconds per event.
 */
export async function metricsCostPerEvent(batch = 1000, rounds = 300): Promise<{ onUs: number; offUs: number }> {
  const instant: Transport = {
    name: 'kafka',
    describe: () => 'nowhere',
    connect: async () => {},
    publish: async () => {},
    close: async () => {},
    subscribe: () => Promise.reject(new Error('not here')),
  };
  const messages: OutgoingMessage[] = Array.from({ length: batch }, (_, i) => {
    const p = makePayload(i);
    return toMessage(
      {
        id: `00000000-0000-7000-8000-${String(i).padStart(12, '0')}`,
        type: 'bench.event',
        version: 1,
        source: '/bench',
        subject: null,
        partition_key: p.key,
        destination: `topic-${i % 3}`,
        payload: JSON.stringify(p),
        headers: {},
        correlation_id: null,
        causation_id: null,
        traceparent: null,
        tracestate: null,
        created_at: new Date(),
      },
      (t) => t,
    );
  });
  const time = async (transport: Transport) => {
    for (let i = 0; i < 20; i++) await transport.publish(messages); // warm up
    const started = performance.now();
    for (let i = 0; i < rounds; i++) await transport.publish(messages);
    return ((performance.now() - started) * 1000) / (rounds * batch);
  };
  const on = observedTransport(instant, await prometheusMetrics());
  const off = observedTransport(instant, noMetrics);
  // Alternated, so neither side has the warmer process.
  const onUs: number[] = [];
  const offUs: number[] = [];
  for (let i = 0; i < 3; i++) {
    offUs.push(await time(off));
    onUs.push(await time(on));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1] as number;
  return { onUs: median(onUs), offUs: median(offUs) };
}
