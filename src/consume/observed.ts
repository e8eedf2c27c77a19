import { type MetricsRecorder, noMetrics } from '../observe/metrics.ts';
import { failSpan, fromTraceparent, heraldTracer, messagingSystem, tracingApi, tracingOn } from '../observe/tracing.ts';
import type { IncomingMessage } from '../transports/transport.ts';
import { errorOf, type GiveUp } from './dead-letter.ts';
import { Released } from './released.ts';
import type { Outcome } from './route.ts';

type Handle = (m: IncomingMessage, giveUp: GiveUp) => Promise<Outcome>;

const outcomes: Record<Outcome, string> = {
  handled: 'handled',
  duplicate: 'duplicate',
  skipped: 'skipped',
  failed: 'dead_lettered',
};

export interface Observation {
  metrics: MetricsRecorder;
  group: string;
  /** The transport's name, for `messaging.system`. */
  transport: string;
  /** The `process` span links to the event's `create` span (default), or is its child. */
  processSpan: 'link' | 'child';
}

/**
 * The pipeline's handling of one delivery, observed. Metrics: its outcome per group and its
 * duration from delivery to outcome (retries and the wait behind earlier messages of its key
 * included). Traces (with @opentelemetry/api loaded): a `process` span around it, active while
 * the handler runs (so the handler's own spans are its children), linked to the event's `create`
 * span or its child.
 */
export function observedHandling(handle: Handle, o: Observation): Handle {
  const { metrics, group } = o;
  const labels = { group };
  // One labels object per outcome, made once: the recorder finds its series by the object.
  const processed = Object.fromEntries(
    Object.entries(outcomes).map(([outcome, name]) => [outcome, { group, outcome: name }]),
  ) as Record<Outcome, { group: string; outcome: string }>;
  const measured: Handle =
    metrics === noMetrics
      ? handle
      : async (m, giveUp) => {
          const started = performance.now();
          const outcome = await handle(m, giveUp);
          metrics.observe('consumerProcessDuration', labels, (performance.now() - started) / 1000);
          metrics.add('consumerProcessed', processed[outcome], 1);
          if (outcome === 'duplicate') metrics.add('inboxDuplicates', labels, 1);
          return outcome;
        };
  const otel = tracingApi();
  if (!otel) return measured;
  const tracer = heraldTracer(otel);
  const traced: Handle = async (m, giveUp) => {
    const created = fromTraceparent(otel, m.headers.ce_traceparent);
    const child = o.processSpan === 'child' && created !== undefined;
    const parent = child ? otel.trace.setSpanContext(otel.ROOT_CONTEXT, created) : otel.ROOT_CONTEXT;
    const span = tracer.startSpan(
      `process ${m.topic}`,
      {
        kind: otel.SpanKind.CONSUMER,
        ...(created && !child ? { links: [{ context: created }] } : {}),
        attributes: {
          'messaging.system': messagingSystem(o.transport),
          'messaging.operation.name': 'process',
          'messaging.operation.type': 'process',
          'messaging.destination.name': m.topic,
          'messaging.destination.partition.id': String(m.partition),
          'messaging.consumer.group.name': group,
          ...(m.headers.ce_id ? { 'messaging.message.id': m.headers.ce_id } : {}),
          ...(m.headers.ce_correlationid ? { 'messaging.message.conversation_id': m.headers.ce_correlationid } : {}),
          ...(m.headers.ce_type ? { 'herald.event.type': m.headers.ce_type } : {}),
        },
      },
      parent,
    );
    let failure: unknown;
    const noting: GiveUp = (message, error, attempts, event) => {
      failure = error;
      return giveUp(message, error, attempts, event);
    };
    try {
      const outcome = await otel.context.with(otel.trace.setSpan(parent, span), () => measured(m, noting));
      span.setAttribute('herald.outcome', outcomes[outcome]);
      if (outcome === 'failed') failSpan(otel, span, errorOf(failure));
      return outcome;
    } catch (error) {
      if (!(error instanceof Released)) failSpan(otel, span, error);
      throw error;
    } finally {
      span.end();
    }
  };
  // No SDK registered: the span would be a no-op carrying no context (0.6 µs a delivery to make).
  return (m, giveUp) => (tracingOn(otel) ? traced(m, giveUp) : measured(m, giveUp));
}
