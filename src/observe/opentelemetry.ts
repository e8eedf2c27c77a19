import type { Attributes, Meter } from '@opentelemetry/api';
import { loadOptional } from '../optional.ts';
import {
  createGaugeSources,
  type GaugeName,
  type MetricDefinition,
  type MetricsRecorder,
  metricDefinitions,
  perSeries,
  secondsBuckets,
} from './metrics.ts';
import { messagingSystem } from './tracing.ts';

export interface OpenTelemetryMetricsOptions {
  /** The meter to create Herald's instruments on; default `metrics.getMeter('herald')` of the registered provider. */
  meter?: Meter;
}

/** Herald's labels as OpenTelemetry attributes: the messaging semantic conventions where they name one. */
const attributeNames: Record<string, string> = {
  transport: 'messaging.system',
  destination: 'messaging.destination.name',
  group: 'messaging.consumer.group.name',
  outcome: 'herald.outcome',
  state: 'herald.lease.state',
  source: 'herald.dead_letter.source',
};

const toAttributes = (labels: Partial<Record<string, string>>): Attributes => {
  const out: Attributes = {};
  for (const [k, v] of Object.entries(labels)) {
    if (v === undefined) continue;
    out[attributeNames[k] ?? `herald.${k}`] = k === 'transport' ? messagingSystem(v) : v;
  }
  return out;
};

interface Instrument {
  add?(value: number, attributes: Attributes): void;
  record?(value: number, attributes: Attributes): void;
}

/**
 * The same observations as `prometheusMetrics()`, on OpenTelemetry instruments (for users who
 * export OTLP): counters and histograms under the messaging semantic-convention names where one
 * exists (`messaging.client.sent.messages`, `messaging.process.duration`…), the gauges as
 * observable gauges read at collection. Needs @opentelemetry/api (an optional peer) and an SDK
 * MeterProvider registered by the application.
 */
export async function openTelemetryMetrics(options: OpenTelemetryMetricsOptions = {}): Promise<MetricsRecorder> {
  const otel = await loadOptional(() => import('@opentelemetry/api'), '@opentelemetry/api', 'openTelemetryMetrics()');
  const meter = options.meter ?? otel.metrics.getMeter('herald');
  const sources = createGaugeSources();
  const instruments = new Map<string, Instrument>();
  for (const [key, d] of Object.entries(metricDefinitions)) {
    if (d.kind === 'counter') {
      instruments.set(key, meter.createCounter(d.otel, { description: d.help, unit: '{message}' }));
    } else if (d.kind === 'histogram') {
      const counts = 'buckets' in d ? [...d.buckets] : undefined;
      const advice = { explicitBucketBoundaries: counts ?? secondsBuckets };
      const unit = counts ? '{event}' : 's';
      instruments.set(key, meter.createHistogram(d.otel, { description: d.help, unit, advice }));
    } else {
      const gauge = key as GaugeName;
      const unit = 'unit' in d ? d.unit : d.name.endsWith('_seconds') ? 's' : '{message}';
      meter.createObservableGauge(d.otel, { description: d.help, unit }).addCallback(async (result) => {
        for (const r of await sources.read()) if (r.metric === gauge) result.observe(r.value, toAttributes(r.labels));
      });
    }
  }
  const attributesOf = perSeries((metric, labels) => {
    const fixed = (metricDefinitions[metric] as MetricDefinition).otelAttributes;
    return { ...fixed, ...toAttributes(labels) };
  });
  return {
    add(metric, labels, value) {
      instruments.get(metric)?.add?.(value, attributesOf(metric, labels));
    },
    observe(metric, labels, value) {
      const instrument = instruments.get(metric) as Instrument;
      const attributes = attributesOf(metric, labels);
      if (typeof value === 'number') instrument.record?.(value, attributes);
      else for (const v of value) instrument.record?.(v, attributes);
    },
    watch: sources.watch,
  };
}
