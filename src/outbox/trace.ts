import {
  failSpan,
  fromTraceparent,
  heraldTracer,
  loadTracing,
  type OtelApi,
  toTraceparent,
  tracingApi,
  tracingOn,
} from '../observe/tracing.ts';
import type { LogRecord } from '../store/sql/insert-events.ts';

type Spans = { end: () => void; fail: (error: unknown) => void } | null;

/**
 * A `create` span per event written, child of the trace context the event names (its
 * `traceparent`, e.g. inherited by `emit` from the event being handled) or else of the active one;
 * the event keeps the span's context as its `traceparent`, so the relay's `send` and the
 * consumer's `process` spans link to it. Null when @opentelemetry/api is not installed. A promise
 * only the first time, while the API loads.
 */
export function traceCreation(records: LogRecord[], schema: string): Spans | Promise<Spans> {
  const otel = tracingApi();
  if (otel === undefined) return loadTracing().then(() => traceCreation(records, schema));
  if (!otel) return null;
  // No SDK registered: a span would be a no-op carrying its parent's context. The event keeps
  // that context alone (the given one, or else the active span's), without a span made per event.
  if (!tracingOn(otel)) {
    const active = otel.trace.getSpanContext(otel.context.active());
    if (active && otel.trace.isSpanContextValid(active)) {
      const { traceparent, tracestate } = toTraceparent(active);
      for (const r of records) {
        if (r.traceparent !== null) continue;
        r.traceparent = traceparent;
        r.tracestate = tracestate ?? r.tracestate;
      }
    }
    return null;
  }
  const tracer = heraldTracer(otel);
  const spans = records.map((r) => {
    const given = fromTraceparent(otel, r.traceparent);
    const active = otel.context.active();
    const parent = given ? otel.trace.setSpanContext(active, given) : active;
    const span = tracer.startSpan(
      `create ${r.destination ?? r.type}`,
      { kind: otel.SpanKind.PRODUCER, attributes: createAttributes(r, schema) },
      parent,
    );
    const context = span.spanContext();
    if (otel.trace.isSpanContextValid(context)) {
      const { traceparent, tracestate } = toTraceparent(context);
      r.traceparent = traceparent;
      r.tracestate = tracestate ?? r.tracestate;
    }
    return span;
  });
  return {
    end: () => {
      for (const s of spans) s.end();
    },
    fail: (error: unknown) => {
      for (const s of spans) {
        failSpan(otel as OtelApi, s, error);
        s.end();
      }
    },
  };
}

function createAttributes(r: LogRecord, schema: string) {
  return {
    'messaging.operation.name': 'create',
    'messaging.operation.type': 'create',
    'messaging.message.id': r.id,
    'messaging.message.conversation_id': r.correlationId ?? r.id,
    ...(r.destination ? { 'messaging.destination.name': r.destination } : {}),
    'herald.event.type': r.type,
    'herald.schema': schema,
  };
}
