import { type MetricsRecorder, noMetrics } from '../observe/metrics.ts';
import type { OutgoingMessage, Transport } from '../transports/transport.ts';

/**
 * The relay's transport, measured: every publish call's duration, the events acknowledged per
 * topic, and each event's time from creation (its `ce_time`) to the broker's acknowledgement. The
 * relay, its dead-letter retries and the CLI publish through it, so round.ts stays as it is.
 */
export function observedTransport(transport: Transport, metrics: MetricsRecorder): Transport {
  if (metrics === noMetrics) return transport;
  const labels = { transport: transport.name };
  const publish = async (messages: readonly OutgoingMessage[]) => {
    const started = performance.now();
    await transport.publish(messages);
    metrics.observe('relayPublishDuration', labels, (performance.now() - started) / 1000);
    const ackedAt = Date.now();
    const perTopic = new Map<string, number>();
    const ages: number[] = [];
    for (const m of messages) {
      perTopic.set(m.topic, (perTopic.get(m.topic) ?? 0) + 1);
      const created = Date.parse(m.headers.ce_time ?? '');
      if (!Number.isNaN(created)) ages.push(Math.max(0, ackedAt - created) / 1000);
    }
    for (const [destination, n] of perTopic) {
      metrics.add('relayPublished', { ...labels, destination, outcome: 'published' }, n);
    }
    metrics.observe('relayCommitToAck', labels, ages);
  };
  return {
    name: transport.name,
    describe: () => transport.describe(),
    connect: () => transport.connect(),
    publish,
    subscribe: (options) => transport.subscribe(options),
    close: () => transport.close(),
  };
}
