import { type MetricsRecorder, noMetrics } from '../observe/metrics.ts';
import {
  failSpan,
  fromTraceparent,
  heraldTracer,
  loadTracing,
  messagingSystem,
  type OtelApi,
} from '../observe/tracing.ts';
import type { OutgoingMessage, Transport } from '../transports/transport.ts';

/**
 * The relay's transport, observed. Metrics: every publish call's duration, the events acknowledged
 * per topic, and each event's time from creation (its `ce_time`) to the broker's acknowledgement.
 * Traces (with @opentelemetry/api installed): a `send` span per publish call, linked to each
 * event's `create` span (its `ce_traceparent`). The relay, its dead-letter retries and the CLI
 * publish through it, so round.ts stays as it is.
 */
export function observedTransport(transport: Transport, metrics: MetricsRecorder): Transport {
  const labels = { transport: transport.name };
  // Events written together share their time to the millisecond: parse each text once.
  let lastTime = '';
  let lastCreated = Number.NaN;
  const measured = async (messages: readonly OutgoingMessage[]) => {
    const started = performance.now();
    await transport.publish(messages);
    if (metrics === noMetrics) return;
    metrics.observe('relayPublishDuration', labels, (performance.now() - started) / 1000);
    const ackedAt = Date.now();
    const perTopic = new Map<string, number>();
    const ages: number[] = [];
    for (const m of messages) {
      perTopic.set(m.topic, (perTopic.get(m.topic) ?? 0) + 1);
      const time = m.headers.ce_time ?? '';
      if (time !== lastTime) {
        lastTime = time;
        lastCreated = Date.parse(time);
      }
      const created = lastCreated;
      if (!Number.isNaN(created)) ages.push(Math.max(0, ackedAt - created) / 1000);
    }
    for (const [destination, n] of perTopic) {
      metrics.add('relayPublished', { ...labels, destination, outcome: 'published' }, n);
    }
    metrics.observe('relayCommitToAck', labels, ages);
  };
  const publish = async (messages: readonly OutgoingMessage[]) => {
    const otel = await loadTracing();
    if (!otel) return measured(messages);
    const span = sendSpan(otel, transport.name, messages);
    try {
      await measured(messages);
    } catch (error) {
      failSpan(otel, span, error);
      throw error;
    } finally {
      span.end();
    }
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

function sendSpan(otel: OtelApi, transport: string, messages: readonly OutgoingMessage[]) {
  const topics = new Set(messages.map((m) => m.topic));
  const [only] = topics;
  const links = [];
  for (const m of messages) {
    const context = fromTraceparent(otel, m.headers.ce_traceparent);
    if (context) links.push({ context, attributes: { 'messaging.message.id': m.id } });
  }
  // A new trace: the relay's work is caused by many writers, each linked, none the parent.
  return heraldTracer(otel).startSpan(topics.size === 1 ? `send ${only}` : 'send', {
    kind: otel.SpanKind.PRODUCER,
    root: true,
    links,
    attributes: {
      'messaging.system': messagingSystem(transport),
      'messaging.operation.name': 'send',
      'messaging.operation.type': 'send',
      'messaging.batch.message_count': messages.length,
      ...(topics.size === 1 ? { 'messaging.destination.name': only } : {}),
      ...(messages.length === 1 ? { 'messaging.message.id': messages[0]?.id } : {}),
    },
  });
}
