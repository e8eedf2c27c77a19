import type * as Otel from '@opentelemetry/api';
import { redact } from './redact.ts';

/**
 * OpenTelemetry tracing, through `@opentelemetry/api` alone (an optional peer): when it is
 * installed, Herald's spans go to whatever SDK the application registered (none: no-op spans, at
 * the cost of a call); when it is not, there is no tracing and no error. Loaded once, on first use
 * (the relay and consumer at start, the outbox at its first add), then read synchronously.
 */
export type OtelApi = typeof Otel;

let api: OtelApi | null | undefined;
let loading: Promise<OtelApi | null> | undefined;

export function loadTracing(): Promise<OtelApi | null> {
  if (api !== undefined) return Promise.resolve(api);
  loading ??= import('@opentelemetry/api').then(
    (m) => {
      api = m as OtelApi;
      return api;
    },
    () => {
      api = null;
      return null;
    },
  );
  return loading;
}

/** The API if loaded (null: not installed; undefined: not tried yet). */
export const tracingApi = (): OtelApi | null | undefined => api;

let tracer: Otel.Tracer | undefined;
/** Herald's tracer: a proxy to whatever provider is registered, now or later, so it is made once. */
export const heraldTracer = (otel: OtelApi): Otel.Tracer => {
  tracer ??= otel.trace.getTracer('herald');
  return tracer;
};

let noProvider: Otel.TracerProvider | undefined;
/**
 * Whether an SDK has registered a tracer provider: until one does, every span is a no-op that
 * carries no context, and code on a hot path (a consumer's every delivery) can skip making it.
 * Asked each time, since an application may register its SDK after Herald started.
 */
export function tracingOn(otel: OtelApi): boolean {
  const provider = otel.trace.getTracerProvider();
  if (!(provider instanceof otel.ProxyTracerProvider)) return true;
  // A proxy without a delegate hands out the API's own no-op provider, one object for all.
  noProvider ??= new otel.ProxyTracerProvider().getDelegate();
  return provider.getDelegate() !== noProvider;
}

// W3C trace context, written and read here: Herald stores it in the log and carries it in the
// CloudEvents distributed-tracing extension, whatever propagator the application registered.
const traceparentPattern = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export function toTraceparent(context: Otel.SpanContext): { traceparent: string; tracestate: string | null } {
  const flags = (context.traceFlags & 0xff).toString(16).padStart(2, '0');
  const state = context.traceState?.serialize();
  return { traceparent: `00-${context.traceId}-${context.spanId}-${flags}`, tracestate: state ? state : null };
}

/** A stored or received traceparent as a remote span context; undefined when absent or malformed. */
export function fromTraceparent(otel: OtelApi, traceparent: string | null | undefined): Otel.SpanContext | undefined {
  const m = traceparent ? traceparentPattern.exec(traceparent) : null;
  if (!m) return undefined;
  const context = {
    traceId: m[1] as string,
    spanId: m[2] as string,
    traceFlags: Number.parseInt(m[3] as string, 16),
    isRemote: true,
  };
  return otel.trace.isSpanContextValid(context) ? context : undefined;
}

/** The transport's name as OpenTelemetry's `messaging.system` spells it. */
export const messagingSystem = (transport: string) => (transport === 'sqs' ? 'aws_sqs' : transport);

/** The active span's ids, for log lines; null when no span is active (or tracing is off). */
export function activeTraceIds(): { trace_id: string; span_id: string } | null {
  if (!api) return null;
  const context = api.trace.getActiveSpan()?.spanContext();
  if (!context || !api.trace.isSpanContextValid(context)) return null;
  return { trace_id: context.traceId, span_id: context.spanId };
}

/** Ends a span as failed, with the error's code (a HeraldError's, else its name) as `error.type`. */
export function failSpan(otel: OtelApi, span: Otel.Span, error: unknown): void {
  const code = (error as { code?: unknown } | null)?.code;
  const type = typeof code === 'string' ? code : error instanceof Error ? error.name : 'Error';
  span.setAttribute('error.type', type);
  const message = error instanceof Error ? error.message : String((error as { message?: unknown })?.message ?? error);
  span.setStatus({ code: otel.SpanStatusCode.ERROR, message: redact(message) as string });
}

/** Runs `fn` in a trace context taken earlier (a message's `process` span); as it is without one. */
export function inContext<T>(context: unknown, fn: () => T): T {
  return context === undefined || !api ? fn() : api.context.with(context as Otel.Context, fn);
}

/** The active trace context while an SDK is registered, to run code in later (`inContext`). */
export function activeContext(): unknown {
  return api && tracingOn(api) ? api.context.active() : undefined;
}
