import type { Registry } from 'prom-client';
import { loadOptional } from '../optional.ts';
import {
  createGaugeSources,
  type GaugeName,
  type MetricsRecorder,
  metricDefinitions,
  perSeries,
  secondsBuckets,
} from './metrics.ts';

export interface PrometheusOptions {
  /** The registry to register Herald's metrics on (prom-client's `register`, or your own); default a new one. */
  registry?: Registry;
  /** Histogram buckets in seconds; default 1 ms to 1 min. */
  buckets?: number[];
}

/** What `/metrics` serves: the registry's text and its content type. */
export interface Scrape {
  contentType: string;
  body: string;
}

export interface PrometheusMetrics extends MetricsRecorder {
  readonly registry: Registry;
  /** The registry's metrics in Prometheus' text format. */
  scrape(): Promise<Scrape>;
}

interface Child {
  inc(value: number): void;
  observe(value: number): void;
}

/**
 * Herald's metrics on a prom-client registry (an optional peer: `npm install prom-client`). Pass
 * the result as `metrics` to createRelay and createConsumer, and to createHttpHandler for
 * `/metrics`; or serve your own registry as you already do.
 */
export async function prometheusMetrics(options: PrometheusOptions = {}): Promise<PrometheusMetrics> {
  // A CommonJS module: its exports are the default export.
  const client = (await loadOptional(() => import('prom-client'), 'prom-client', 'prometheusMetrics()')).default;
  const registry = options.registry ?? new client.Registry();
  const registers = [registry];
  const buckets = options.buckets ?? secondsBuckets;
  const sources = createGaugeSources();
  // One prom-client metric per definition; its labelled children are made once per series.
  const metrics = new Map<string, { labels(values: Record<string, string>): Child } & Partial<Child>>();
  for (const [key, d] of Object.entries(metricDefinitions)) {
    const base = { name: d.name, help: d.help, labelNames: [...d.labels], registers };
    if (d.kind === 'counter') metrics.set(key, new client.Counter(base) as never);
    else if (d.kind === 'histogram') {
      const counts = 'buckets' in d ? [...d.buckets] : undefined;
      metrics.set(key, new client.Histogram({ ...base, buckets: counts ?? buckets }) as never);
    } else {
      const gauge = key as GaugeName;
      new client.Gauge({
        ...base,
        async collect() {
          const readings = await sources.read();
          this.reset();
          for (const r of readings) if (r.metric === gauge) this.set(r.labels as Record<string, string>, r.value);
        },
      });
    }
  }
  const child = perSeries((metric, labels): Child => {
    const m = metrics.get(metric) as { labels(values: Record<string, string>): Child } & Child;
    return metricDefinitions[metric].labels.length === 0 ? m : m.labels(labels);
  });
  return {
    registry,
    add(metric, labels, value) {
      child(metric, labels).inc(value);
    },
    observe(metric, labels, value) {
      const c = child(metric, labels);
      if (typeof value === 'number') c.observe(value);
      else for (const v of value) c.observe(v);
    },
    watch: sources.watch,
    async scrape() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
