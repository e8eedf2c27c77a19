import type { Context, Span } from '@opentelemetry/api';
import { type MetricsRecorder, noMetrics } from '../observe/metrics.ts';
import {
  failSpan,
  fromTraceparent,
  heraldTracer,
  messagingSystem,
  type OtelApi,
  tracingApi,
  tracingOn,
} from '../observe/tracing.ts';
import type { IncomingMessage } from '../transports/transport.ts';
import { errorOf, type GiveUp } from './dead-letter.ts';
import { Unfinished } from './handle-run.ts';
import { Released } from './released.ts';
import type { Outcome } from './route.ts';

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
 * A run's handling: its messages' outcomes, message k handled in `contexts[k]` and heard by
 * `settled(k, outcome)` as soon as its outcome is known.
 */
type HandleRun = (
  ms: IncomingMessage[],
  giveUp: GiveUp,
  contexts: readonly unknown[],
  settled: (k: number, outcome: Outcome) => void,
) => Promise<Outcome[]>;

const unheard = () => {};

/**
 * The handling of a run of one key's messages (often of one), observed. Metrics: per message its
 * outcome per group and its duration, from the run's start to its own outcome (the messages
 * before it in the run and its retries included). Traces (with @opentelemetry/api loaded and an
 * SDK registered): per message a `process` span, active while its handlers run (so a handler's
 * own spans are its children), linked to the event's `create` span or its child, ended with its
 * outcome. A run that stops early ends the spans of the messages it did not finish with why
 * (a stop's release is not a failure).
 */
export function observedRuns(
  handleRun: HandleRun,
  o: Observation,
): (ms: IncomingMessage[], giveUp: GiveUp) => Promise<Outcome[]> {
  const record = outcomeRecorder(o);
  const otel = tracingApi();
  const spans = otel ? processSpans(otel, o) : null;
  return async (ms, giveUp) => {
    const traced = spans !== null && tracingOn(otel as OtelApi);
    if (!record && !traced) return handleRun(ms, giveUp, [], unheard);
    const started = performance.now();
    const open = traced ? ms.map((m) => spans.start(m)) : [];
    // Why a message was given up on, for its span: only while traced.
    const failures = traced ? new Map<IncomingMessage, unknown>() : null;
    const noting: GiveUp = traced
      ? (message, error, attempts, event) => {
          failures?.set(message, error);
          return giveUp(message, error, attempts, event);
        }
      : giveUp;
    let ended = 0;
    const settled = (k: number, outcome: Outcome) => {
      record?.(outcome, started);
      if (traced) spans.end((open[k] as (typeof open)[number]).span, outcome, failures?.get(ms[k] as IncomingMessage));
      ended = k + 1;
    };
    try {
      return await handleRun(
        ms,
        noting,
        open.map((s) => s.context),
        settled,
      );
    } catch (error) {
      const cause = error instanceof Unfinished ? error.cause : error;
      for (const { span } of open.slice(ended)) spans?.end(span, null, cause);
      throw error;
    }
  };
}

/** Records the events of each group transaction (group commit) in its histogram. */
export function groupSizes(metrics: MetricsRecorder, group: string): (events: number) => void {
  const labels = { group };
  return (events) => metrics.observe('consumerGroupEvents', labels, events);
}

/**
 * Reports the group transactions this consumer may run at once, read at each scrape. The limit is
 * this process's own, so its source has a key of its own (the gauges of a schema are read once per
 * process): two consumers of one group in a process report under the same labels, the last read.
 */
export function watchGroupsAtOnce(
  metrics: MetricsRecorder,
  group: string,
  groupsAtOnce: () => number | null,
): () => void {
  const labels = { group };
  return metrics.watch(`consumer:${group}:${++consumersWatched}`, async () => {
    const value = groupsAtOnce();
    return value === null ? [] : [{ metric: 'consumerGroupsAtOnce', labels, value }];
  });
}
let consumersWatched = 0;

/** Counts a message's outcome and its duration since `started`; null without metrics. */
function outcomeRecorder({ metrics, group }: Observation): ((outcome: Outcome, started: number) => void) | null {
  if (metrics === noMetrics) return null;
  const labels = { group };
  // One labels object per outcome, made once: the recorder finds its series by the object.
  const processed = Object.fromEntries(
    Object.entries(outcomes).map(([outcome, name]) => [outcome, { group, outcome: name }]),
  ) as Record<Outcome, { group: string; outcome: string }>;
  return (outcome, started) => {
    metrics.observe('consumerProcessDuration', labels, (performance.now() - started) / 1000);
    metrics.add('consumerProcessed', processed[outcome], 1);
    if (outcome === 'duplicate') metrics.add('inboxDuplicates', labels, 1);
  };
}

/** The `process` span of one message: started with its attributes and link, ended with its outcome. */
function processSpans(otel: OtelApi, o: Observation) {
  const tracer = heraldTracer(otel);
  return {
    start(m: IncomingMessage): { span: Span; context: Context } {
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
            'messaging.consumer.group.name': o.group,
            ...(m.headers.ce_id ? { 'messaging.message.id': m.headers.ce_id } : {}),
            ...(m.headers.ce_correlationid ? { 'messaging.message.conversation_id': m.headers.ce_correlationid } : {}),
            ...(m.headers.ce_type ? { 'herald.event.type': m.headers.ce_type } : {}),
          },
        },
        parent,
      );
      return { span, context: otel.trace.setSpan(parent, span) };
    },
    /** `outcome` null: the handling threw `failure` (a stop's release is not a failure). */
    end(span: Span, outcome: Outcome | null, failure: unknown): void {
      if (outcome !== null) {
        span.setAttribute('herald.outcome', outcomes[outcome]);
        if (outcome === 'failed') failSpan(otel, span, errorOf(failure));
      } else if (!(failure instanceof Released)) failSpan(otel, span, failure);
      span.end();
    },
  };
}
