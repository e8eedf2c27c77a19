/**
 * What Herald measures, written once: each metric's Prometheus name (the `herald_` prefix, base
 * units, `_total` counters), its help text, its labels (few values each: a transport, a topic, a
 * group, an outcome; never an event id or key) and its OpenTelemetry name. The relay and the
 * consumer report through `MetricsRecorder` only, so hot code never imports a metrics library;
 * `prometheusMetrics()` (prom-client) and `openTelemetryMetrics()` (@opentelemetry/api) are the two
 * recorders. Backlog, leases, dead letters and lag are gauges read when scraped (from the same
 * queries as `herald status`), not counted per event.
 */
export const metricDefinitions = {
  relayPublished: {
    kind: 'counter',
    name: 'herald_relay_published_events_total',
    help: 'Events the relay published (acknowledged by the broker) or dead-lettered, by topic',
    labels: ['transport', 'destination', 'outcome'],
    otel: 'messaging.client.sent.messages',
    otelAttributes: { 'messaging.operation.name': 'send' },
  },
  relayPublishDuration: {
    kind: 'histogram',
    name: 'herald_relay_publish_duration_seconds',
    help: 'Time from handing a batch to the broker to its acknowledgement, per publish call',
    labels: ['transport'],
    otel: 'messaging.client.operation.duration',
    otelAttributes: { 'messaging.operation.name': 'send' },
  },
  relayCommitToAck: {
    kind: 'histogram',
    name: 'herald_relay_commit_to_ack_seconds',
    help: "Time from an event's creation (outbox.add) to the broker's acknowledgement",
    labels: ['transport'],
    otel: 'herald.relay.commit_to_ack.duration',
  },
  consumerProcessed: {
    kind: 'counter',
    name: 'herald_consumer_processed_events_total',
    help: 'Messages a consumer group finished: handled, duplicate, skipped or dead_lettered',
    labels: ['group', 'outcome'],
    otel: 'messaging.client.consumed.messages',
    otelAttributes: { 'messaging.operation.name': 'process' },
  },
  consumerProcessDuration: {
    kind: 'histogram',
    name: 'herald_consumer_process_duration_seconds',
    help: "Time from a message's handling starting to its outcome: its retries, and the messages before it in its key's run, included",
    labels: ['group'],
    otel: 'messaging.process.duration',
    otelAttributes: { 'messaging.operation.name': 'process' },
  },
  consumerGroupEvents: {
    kind: 'histogram',
    name: 'herald_consumer_group_events',
    help: "Events a consumer group's transaction took together (group commit; a run of a key's events counts as its events)",
    labels: ['group'],
    otel: 'herald.consumer.group.events',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
  },
  consumerGroupsAtOnce: {
    kind: 'gauge',
    name: 'herald_consumer_groups_at_once',
    help: "Group commit's transactions a consumer may run at once: its concurrency, fewer while handlers only write and the database queues them",
    labels: ['group'],
    otel: 'herald.consumer.groups_at_once',
    unit: '{transaction}',
  },
  inboxDuplicates: {
    kind: 'counter',
    name: 'herald_inbox_duplicates_total',
    help: 'Deliveries the inbox skipped because the group had handled the event already',
    labels: ['group'],
    otel: 'herald.inbox.duplicates',
  },
  outboxPending: {
    kind: 'gauge',
    name: 'herald_outbox_pending_events',
    help: 'Committed events not yet published',
    labels: [],
    otel: 'herald.outbox.pending_events',
  },
  outboxOldestAge: {
    kind: 'gauge',
    name: 'herald_outbox_oldest_pending_age_seconds',
    help: 'Age of the oldest committed event not yet published (0 when none is pending)',
    labels: [],
    otel: 'herald.outbox.oldest_pending_age',
  },
  shardLeases: {
    kind: 'gauge',
    name: 'herald_relay_shard_leases',
    help: 'Shards by lease state: held by a live relay, or free (nobody publishes them)',
    labels: ['state'],
    otel: 'herald.relay.shard_leases',
    unit: '{shard}',
  },
  relays: {
    kind: 'gauge',
    name: 'herald_relay_instances',
    help: 'Relay instances with a recent heartbeat',
    labels: [],
    otel: 'herald.relay.instances',
    unit: '{relay}',
  },
  deadLetters: {
    kind: 'gauge',
    name: 'herald_dead_letter_events',
    help: "Pending dead letters: the relay's (source=relay) and each consumer group's (source=consumer)",
    labels: ['source', 'group'],
    otel: 'herald.dead_letter.events',
  },
  consumerLag: {
    kind: 'gauge',
    name: 'herald_consumer_lag_events',
    help: 'Messages a consumer group has not handled yet, over its partitions, as its consumers last measured',
    labels: ['group'],
    otel: 'messaging.consumer.lag',
  },
} as const satisfies Record<string, MetricDefinition>;

export interface MetricDefinition {
  kind: 'counter' | 'histogram' | 'gauge';
  name: string;
  help: string;
  labels: readonly string[];
  /** Its OpenTelemetry instrument's name: the messaging semantic conventions' where one exists. */
  otel: string;
  /** Attributes every OpenTelemetry data point of it carries (the operation the convention asks for). */
  otelAttributes?: Readonly<Record<string, string>>;
  /** A histogram of counts (events), not of seconds: its buckets. */
  buckets?: readonly number[];
  /** A gauge's OpenTelemetry unit, where it counts neither messages nor seconds. */
  unit?: string;
}

type Metrics = typeof metricDefinitions;
type Kind<K extends Metrics[keyof Metrics]['kind']> = {
  [N in keyof Metrics]: Metrics[N]['kind'] extends K ? N : never;
}[keyof Metrics];
export type CounterName = Kind<'counter'>;
export type HistogramName = Kind<'histogram'>;
export type GaugeName = Kind<'gauge'>;
/** A metric's labels, every one of its definition's names. */
export type Labels<N extends keyof Metrics> = { [L in Metrics[N]['labels'][number]]: string };

/** A gauge's value as read at scrape time. */
export interface GaugeReading {
  metric: GaugeName;
  labels: Partial<Record<string, string>>;
  value: number;
}

/** Seconds buckets from 1 ms to 1 min: publishing and handling take milliseconds, stalls take longer. */
export const secondsBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * What the relay and the consumer report to; one implementation per metrics library. A labels
 * object passed once is not changed afterwards (the recorders remember series by it).
 */
export interface MetricsRecorder {
  add<N extends CounterName>(metric: N, labels: Labels<N>, value: number): void;
  /** One observation, or many with the same labels (an event each, of one batch). */
  observe<N extends HistogramName>(metric: N, labels: Labels<N>, value: number | readonly number[]): void;
  /**
   * Adds a source of gauge readings, read at each scrape; `key` names it (e.g. the schema), so a
   * relay and a consumer of one schema in one process are read once. Returns its removal.
   */
  watch(key: string, read: () => Promise<GaugeReading[]>): () => void;
}

/** Reports nothing: the default, at the cost of a call. */
export const noMetrics: MetricsRecorder = {
  add() {},
  observe() {},
  watch: () => () => {},
};

/**
 * The gauge sources of a recorder: by key (a relay and a consumer of one schema are read once,
 * through whichever of them still runs), and read once per scrape: the gauges of one scrape ask
 * together, while a read is under way.
 */
export function createGaugeSources() {
  // Per key, the watchers' read functions: the first is read; when its owner stops (and its pool
  // may close), the next one's takes over.
  const sources = new Map<string, (() => Promise<GaugeReading[]>)[]>();
  let reading: Promise<GaugeReading[]> | null = null;
  return {
    watch(key: string, read: () => Promise<GaugeReading[]>): () => void {
      const watchers = sources.get(key) ?? [];
      const own = () => read();
      watchers.push(own);
      sources.set(key, watchers);
      return () => {
        const i = watchers.indexOf(own);
        if (i !== -1) watchers.splice(i, 1);
        if (watchers.length === 0 && sources.get(key) === watchers) sources.delete(key);
      };
    },
    /** Every source's readings; a source that fails (database away) gives none. */
    read(): Promise<GaugeReading[]> {
      if (reading) return reading;
      const all = Promise.all(
        [...sources.values()].map((w) => (w[0] as () => Promise<GaugeReading[]>)().catch(() => [])),
      );
      const current = all.then((lists) => lists.flat());
      reading = current;
      void current.finally(() => {
        if (reading === current) reading = null;
      });
      return current;
    },
  };
}

/** Label values in the definition's order, joined: the key of one series. */
export function seriesKey(metric: keyof Metrics, labels: Partial<Record<string, string>>): string {
  let key: string = metric;
  for (const name of metricDefinitions[metric].labels) key += `\u0000${labels[name] ?? ''}`;
  return key;
}

/**
 * What a recorder makes once per series (a labelled child, an attributes object), kept: a hot
 * call is then one key and one map lookup, or one lookup alone when the caller passes the same
 * labels object again (the relay and the consumer keep theirs).
 */
export function perSeries<T>(
  make: (metric: keyof Metrics, labels: Record<string, string>) => T,
): (metric: keyof Metrics, labels: Record<string, string>) => T {
  const made = new Map<string, T>();
  const byObject = new Map<keyof Metrics, WeakMap<object, T>>();
  return (metric, labels) => {
    let objects = byObject.get(metric);
    const known = objects?.get(labels);
    if (known !== undefined) return known;
    const key = seriesKey(metric, labels);
    let value = made.get(key);
    if (value === undefined) {
      value = make(metric, labels);
      made.set(key, value);
    }
    if (!objects) {
      objects = new WeakMap();
      byObject.set(metric, objects);
    }
    objects.set(labels, value);
    return value;
  };
}
