import { observedRuns } from '../src/consume/observed.ts';
import { prometheusMetrics } from '../src/index.ts';
import { type MetricsRecorder, noMetrics } from '../src/observe/metrics.ts';
import { observedTransport } from '../src/relay/observed.ts';
import type { OutgoingMessage, Transport } from '../src/transports/transport.ts';
import { toMessage } from '../src/wire/outgoing.ts';
import { storedEvent } from './payload.ts';

/**
 * What metrics add to one relay batch, measured without a broker (a transport that acknowledges at
 * once), so the figure is the recorder's own CPU time and not the noise of a shared machine: the
 * wrapped publish of `batch` messages with metrics on against off, microseconds per event.
 */
export async function metricsCostPerEvent(
  batch = 1000,
  rounds = 300,
): Promise<{ onUs: number; offUs: number; consumerOnUs: number; consumerOffUs: number }> {
  const instant: Transport = {
    name: 'kafka',
    describe: () => 'nowhere',
    connect: async () => {},
    publish: async () => {},
    close: async () => {},
    subscribe: () => Promise.reject(new Error('not here')),
  };
  const messages: OutgoingMessage[] = Array.from({ length: batch }, (_, i) =>
    toMessage(storedEvent(i, { type: 'bench.event', source: '/bench', destination: `topic-${i % 3}` }), (t) => t),
  );
  const time = async (transport: Transport) => {
    for (let i = 0; i < 20; i++) await transport.publish(messages); // warm up
    const started = performance.now();
    for (let i = 0; i < rounds; i++) await transport.publish(messages);
    return ((performance.now() - started) * 1000) / (rounds * batch);
  };
  const recorder = await prometheusMetrics();
  const on = observedTransport(instant, recorder);
  const off = observedTransport(instant, noMetrics);
  // Alternated, so neither side has the warmer process.
  const onUs: number[] = [];
  const offUs: number[] = [];
  for (let i = 0; i < 3; i++) {
    offUs.push(await time(off));
    onUs.push(await time(on));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1] as number;
  // The consumer's side: one message's handling (a handler that returns at once), observed.
  const handling = (metrics: MetricsRecorder) => {
    const handle = observedRuns(
      async (ms, _giveUp, _contexts, settled) =>
        ms.map((_, k) => {
          settled(k, 'handled');
          return 'handled' as const;
        }),
      {
        metrics,
        group: 'bench',
        transport: 'kafka',
        processSpan: 'link',
      },
    );
    const delivery = { ...(messages[0] as OutgoingMessage), partition: 0, offset: '0', key: 'k' };
    const one = [delivery];
    const giveUp = async () => {};
    return async () => {
      for (let i = 0; i < 20_000; i++) await handle(one, giveUp);
      const started = performance.now();
      for (let i = 0; i < rounds * 100; i++) await handle(one, giveUp);
      return ((performance.now() - started) * 1000) / (rounds * 100);
    };
  };
  const consumerOnUs: number[] = [];
  const consumerOffUs: number[] = [];
  for (let i = 0; i < 3; i++) {
    consumerOffUs.push(await handling(noMetrics)());
    consumerOnUs.push(await handling(recorder)());
  }
  return {
    onUs: median(onUs),
    offUs: median(offUs),
    consumerOnUs: median(consumerOnUs),
    consumerOffUs: median(consumerOffUs),
  };
}
