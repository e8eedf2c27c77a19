import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DataPointType, MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { Registry } from 'prom-client';
import { z } from 'zod';
import {
  createConsumer,
  createOutbox,
  createRelay,
  defineEvent,
  metricDefinitions,
  NonRetriableError,
  openTelemetryMetrics,
  prometheusMetrics,
  replayEvents,
  silentLogger,
} from '../../src/index.ts';
import { createGaugeSources } from '../../src/observe/metrics.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import { brokers, freshSchema, inTransaction, type TestSchema, uniqueName } from '../support/env.ts';
import { createTopic } from '../support/kafka.ts';
import { waitFor } from '../support/relay-process.ts';

/** The value of one series, as a scrape reads it (gauges are read then); undefined when absent. */
async function sample(registry: Registry, name: string, labels: Record<string, string> = {}) {
  const metrics = await registry.getMetricsAsJSON();
  const metric = metrics.find((m) => m.name === name.replace(/_(count|sum)$/, ''));
  assert.ok(metric, `${name} is registered`);
  const found = metric.values.find(
    (v) =>
      (v as { metricName?: string }).metricName ===
        (name.endsWith('_count') || name.endsWith('_sum') ? name : undefined) &&
      Object.entries(labels).every(([k, l]) => String(v.labels[k]) === l) &&
      Object.keys(v.labels).filter((k) => k !== 'le').length === Object.keys(labels).length,
  );
  return found?.value;
}

describe('metrics: Prometheus and OpenTelemetry, from the relay and the consumer on PostgreSQL and Kafka', () => {
  let db: TestSchema;
  before(async () => {
    db = await freshSchema();
  });
  after(() => db.drop());

  it('counts what the relay published and dead-lettered, what the consumer handled, and reads the backlog on scrape', async () => {
    const registry = new Registry();
    const metrics = await prometheusMetrics({ registry });
    const topic = await createTopic(1);
    const small = await createTopic(1, 'herald-metrics-small', { 'max.message.bytes': '1024' });
    const Reserved = defineEvent({
      type: 'stock.reserved',
      version: 1,
      destination: topic,
      schema: z.object({ sku: z.string(), note: z.string().optional() }),
      key: (p) => p.sku,
    });
    const TooLarge = defineEvent({
      type: 'stock.note',
      version: 1,
      destination: small,
      schema: z.object({ text: z.string() }),
      key: () => 'n',
    });
    const outbox = createOutbox({ schema: db.schema });
    await inTransaction(db.pool, (tx) =>
      outbox.add(tx, [Reserved({ sku: 'a' }), Reserved({ sku: 'b' }), Reserved({ sku: 'bad' })]),
    );

    // A consumer alone first: it watches the backlog too, and no relay holds a lease yet.
    const group = uniqueName('g');
    const transport = kafka({ brokers });
    const consumer = createConsumer({
      transport,
      group,
      db: db.pool,
      schema: db.schema,
      metrics,
      logger: silentLogger,
      retry: { attempts: 1, initialMs: 1 },
      deadLetterTopic: false,
      lagIntervalMs: 100,
    });
    consumer.on(Reserved, (event) => {
      if (event.payload.sku === 'bad') throw new NonRetriableError('no such sku');
    });
    await consumer.start();
    try {
      assert.equal(await sample(registry, 'herald_outbox_pending_events'), 3);
      assert.ok(((await sample(registry, 'herald_outbox_oldest_pending_age_seconds')) ?? 0) > 0);
      assert.equal(await sample(registry, 'herald_relay_shard_leases', { state: 'held' }), 0);
      assert.equal(await sample(registry, 'herald_relay_instances'), 0);

      const relay = createRelay({
        db: db.pool,
        schema: db.schema,
        transport: kafka({ brokers }),
        metrics,
        logger: silentLogger,
        maxAttempts: 1,
      });
      await relay.start();
      try {
        await waitFor('the relay to publish 3', () => relay.stats().published === 3);
        // Alone in its batch, so the others are not published twice when the batch is taken apart.
        await inTransaction(db.pool, (tx) => outbox.add(tx, TooLarge({ text: 'x'.repeat(4000) })));
        await waitFor('the relay to dead-letter 1', () => relay.stats().deadLettered === 1);
        const published = { transport: 'kafka', destination: topic, outcome: 'published' };
        assert.equal(await sample(registry, 'herald_relay_published_events_total', published), 3);
        const dead = { transport: 'kafka', destination: small, outcome: 'dead_lettered' };
        assert.equal(await sample(registry, 'herald_relay_published_events_total', dead), 1);
        assert.equal(await sample(registry, 'herald_relay_commit_to_ack_seconds_count', { transport: 'kafka' }), 3);
        assert.ok(
          ((await sample(registry, 'herald_relay_publish_duration_seconds_count', { transport: 'kafka' })) ?? 0) >= 1,
        );
        assert.equal(await sample(registry, 'herald_relay_shard_leases', { state: 'held' }), 64);
        assert.equal(await sample(registry, 'herald_relay_shard_leases', { state: 'free' }), 0);
        assert.equal(await sample(registry, 'herald_relay_instances'), 1);
        // The relay stores its cursors with its heartbeat: the backlog read from them follows.
        await waitFor(
          'the backlog read as 0',
          async () => (await sample(registry, 'herald_outbox_pending_events')) === 0,
        );
        assert.equal(await sample(registry, 'herald_dead_letter_events', { source: 'relay' }), 1);

        // Event a published again (a replay): the inbox skips it.
        await waitFor('a handled', () => consumer.stats().handled >= 1);
        await replayEvents({ db: db.pool, schema: db.schema, transport, from: new Date(0), keys: ['a'] });
        await waitFor('3 handled or dead-lettered, 1 duplicate', () => {
          const s = consumer.stats();
          return s.handled + s.deadLettered === 3 && s.duplicates === 1;
        });
        assert.deepEqual(
          [consumer.stats().handled, consumer.stats().deadLettered],
          [2, 1],
          'a and b handled, bad dead-lettered',
        );
        const processed = (outcome: string) =>
          sample(registry, 'herald_consumer_processed_events_total', { group, outcome });
        assert.equal(await processed('handled'), 2);
        assert.equal(await processed('dead_lettered'), 1);
        assert.equal(await processed('duplicate'), 1);
        assert.equal(await sample(registry, 'herald_inbox_duplicates_total', { group }), 1);
        assert.equal(await sample(registry, 'herald_consumer_process_duration_seconds_count', { group }), 4);
        // Every delivery went through one group transaction that committed (the thrower's retry
        // alone is not a group), so the groups' events add up to the four deliveries.
        assert.equal(await sample(registry, 'herald_consumer_group_events_sum', { group }), 4);
        assert.ok(((await sample(registry, 'herald_consumer_group_events_count', { group })) ?? 0) >= 2);
        assert.equal(await sample(registry, 'herald_dead_letter_events', { source: 'consumer', group }), 1);
        // Group commit's limit, read from the running consumer: two to its concurrency (16).
        const atOnce = await sample(registry, 'herald_consumer_groups_at_once', { group });
        assert.equal(atOnce, consumer.stats().groupsAtOnce);
        assert.ok(atOnce !== undefined && atOnce >= 2 && atOnce <= 16, `groups at once: ${atOnce}`);
        await waitFor(
          'the lag measured',
          async () => (await sample(registry, 'herald_consumer_lag_events', { group })) === 0,
        );
      } finally {
        await relay.stop();
      }
    } finally {
      await consumer.stop();
      await transport.close();
    }
    // Stopped: nothing watches the schema any more, and nothing is read at scrape.
    assert.equal(await sample(registry, 'herald_consumer_lag_events', { group }), undefined);
    assert.equal(await sample(registry, 'herald_consumer_groups_at_once', { group }), undefined);

    const text = (await metrics.scrape()).body;
    for (const d of Object.values(metricDefinitions))
      assert.match(text, new RegExp(`^# TYPE ${d.name} ${d.kind}$`, 'm'));
    assert.doesNotMatch(text, /password|postgres:\/\//);
  });

  it('a schema watched by a relay and a consumer is read once, through the one still running', async () => {
    const sources = createGaugeSources();
    let reads = 0;
    const reading = (value: number) => async () => {
      reads++;
      return [{ metric: 'outboxPending' as const, labels: {}, value }];
    };
    const stopRelay = sources.watch('shop', reading(1));
    const stopConsumer = sources.watch('shop', reading(2));
    const [a, b] = await Promise.all([sources.read(), sources.read()]);
    assert.deepEqual(a, [{ metric: 'outboxPending', labels: {}, value: 1 }]);
    assert.equal(a, b, 'the gauges of one scrape share one read');
    assert.equal(reads, 1);
    stopRelay();
    assert.deepEqual(
      (await sources.read()).map((r) => r.value),
      [2],
    );
    stopConsumer();
    assert.deepEqual(await sources.read(), []);
  });

  it('registers on the registry given, and a second recorder on it is refused by name', async () => {
    const registry = new Registry();
    await prometheusMetrics({ registry });
    await assert.rejects(prometheusMetrics({ registry }), /herald_relay_published_events_total/);
  });

  it('the same observations on OpenTelemetry instruments, under the messaging semantic-convention names', async () => {
    // An application's OpenTelemetry SDK, read on demand.
    class OnDemand extends MetricReader {
      protected override async onForceFlush() {}
      protected override async onShutdown() {}
    }
    const reader = new OnDemand();
    const provider = new MeterProvider({ readers: [reader] });
    const metrics = await openTelemetryMetrics({ meter: provider.getMeter('herald') });
    const topic = await createTopic(1);
    const Noted = defineEvent({ type: 'noted', version: 1, destination: topic, schema: z.object({}), key: () => 'k' });
    await inTransaction(db.pool, (tx) => createOutbox({ schema: db.schema }).add(tx, Noted({})));
    const group = uniqueName('g');
    const transport = kafka({ brokers });
    const consumer = createConsumer({
      transport,
      group,
      db: db.pool,
      schema: db.schema,
      metrics,
      logger: silentLogger,
    });
    consumer.on(Noted, () => {});
    const relay = createRelay({ db: db.pool, schema: db.schema, transport, metrics, logger: silentLogger });
    await consumer.start();
    await relay.start();
    let collected: ResourceMetrics;
    try {
      await waitFor('handled', () => consumer.stats().handled === 1);
      await waitFor('its leases', () => relay.stats().shards.length === 64);
      const pending = (m: ResourceMetrics) =>
        m.scopeMetrics.flatMap((s) => s.metrics).find((x) => x.descriptor.name === 'herald.outbox.pending_events')
          ?.dataPoints[0]?.value;
      // The relay stores its cursors with its heartbeat: the backlog read from them follows.
      await waitFor('the backlog read as 0', async () => pending((await reader.collect()).resourceMetrics) === 0);
      collected = (await reader.collect()).resourceMetrics;
    } finally {
      await relay.stop();
      await consumer.stop();
      await transport.close();
      await provider.shutdown();
    }
    const points = (name: string) => {
      const metric = collected.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
      assert.ok(metric, `${name} collected`);
      return metric;
    };
    const sent = points('messaging.client.sent.messages');
    assert.deepEqual(
      sent.dataPoints.map((p) => [p.attributes, p.value]),
      [
        [
          {
            'messaging.operation.name': 'send',
            'messaging.system': 'kafka',
            'messaging.destination.name': topic,
            'herald.outcome': 'published',
          },
          1,
        ],
      ],
    );
    const processed = points('messaging.process.duration');
    assert.equal(processed.dataPointType, DataPointType.HISTOGRAM);
    assert.equal(processed.descriptor.unit, 's');
    assert.deepEqual(processed.dataPoints[0]?.attributes, {
      'messaging.operation.name': 'process',
      'messaging.consumer.group.name': group,
    });
    assert.equal((processed.dataPoints[0]?.value as { count: number } | undefined)?.count, 1);
    const grouped = points('herald.consumer.group.events');
    assert.equal(grouped.descriptor.unit, '{event}');
    assert.deepEqual(
      [(grouped.dataPoints[0]?.value as { count: number; sum: number } | undefined)?.sum],
      [1],
      'one group transaction of one event',
    );
    const atOnce = points('herald.consumer.groups_at_once');
    assert.equal(atOnce.descriptor.unit, '{transaction}');
    assert.deepEqual(atOnce.dataPoints[0]?.attributes, { 'messaging.consumer.group.name': group });
    assert.ok(Number(atOnce.dataPoints[0]?.value) >= 2, 'two group transactions at once, or more');
    const consumed = points('messaging.client.consumed.messages').dataPoints;
    assert.deepEqual(consumed[0]?.attributes, {
      'messaging.operation.name': 'process',
      'messaging.consumer.group.name': group,
      'herald.outcome': 'handled',
    });
    const leases = points('herald.relay.shard_leases').dataPoints;
    assert.deepEqual(
      leases.map((p) => [p.attributes['herald.lease.state'], p.value]),
      [
        ['held', 64],
        ['free', 0],
      ],
    );
    assert.equal(points('herald.outbox.pending_events').dataPoints[0]?.value, 0);
  });
});
