import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { context, type SpanContext, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type pg from 'pg';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { Unfinished } from '../../src/consume/handle-run.ts';
import { observedRuns } from '../../src/consume/observed.ts';
import { Released } from '../../src/consume/released.ts';
import {
  createConsumer,
  createLogger,
  createOutbox,
  createRelay,
  defineEvent,
  NonRetriableError,
  prometheusMetrics,
  silentLogger,
  type Transport,
  uuidv7,
} from '../../src/index.ts';
import { loadTracing } from '../../src/observe/tracing.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import { postgres } from '../../src/transports/postgres/index.ts';
import { eventMessage } from '../support/consumer.ts';
import { brokers, freshSchema, inTransaction, type TestSchema, uniqueName } from '../support/env.ts';
import { createTopic } from '../support/kafka.ts';
import { waitFor } from '../support/relay-process.ts';

// An application's OpenTelemetry SDK, as it would register one; the spans are kept in memory.
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const contextManager = new AsyncLocalStorageContextManager().enable();
context.setGlobalContextManager(contextManager);
trace.setGlobalTracerProvider(provider);
const tracer = trace.getTracer('the-application');

const spansOf = (traceId: string) => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
const linkedTo = (span: ReadableSpan, to: SpanContext) =>
  span.links.some((l) => l.context.traceId === to.traceId && l.context.spanId === to.spanId);
const parentId = (span: ReadableSpan) => span.parentSpanContext?.spanId;

interface Journey {
  checkout: ReadableSpan;
  create: ReadableSpan;
  send: ReadableSpan;
  process: ReadableSpan;
  /** The span active in the handler. */
  inHandler: SpanContext;
  /** What the default logger wrote in the handler. */
  logLine: Record<string, string>;
  eventId: string;
}

/**
 * One event from `outbox.add` inside the application's own span, through a relay and a consumer on
 * `transport`, to the handler; the spans each step left.
 */
async function journey(
  db: TestSchema,
  transport: Transport,
  destination: string,
  processSpan: 'link' | 'child' = 'link',
): Promise<Journey> {
  const Paid = defineEvent({
    type: 'payment.captured',
    version: 1,
    destination,
    schema: z.object({ orderId: z.string() }),
    key: (p) => p.orderId,
  });
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', write: (line) => lines.push(line) });
  let inHandler: SpanContext | undefined;
  const group = uniqueName('g');
  const consumer = createConsumer({
    transport,
    group,
    db: db.pool,
    schema: db.schema,
    logger: silentLogger,
    processSpan,
  });
  consumer.on(Paid, () => {
    inHandler = trace.getActiveSpan()?.spanContext();
    logger.info({}, 'payment recorded');
  });
  await consumer.start();
  const relay = createRelay({ db: db.pool, schema: db.schema, transport, logger: silentLogger });
  await relay.start();
  try {
    const outbox = createOutbox({ schema: db.schema });
    let eventId = '';
    const checkout = await tracer.startActiveSpan('POST /checkout', async (span) => {
      const [added] = await inTransaction(db.pool, (tx) => outbox.add(tx, Paid({ orderId: 'o-1' })));
      eventId = added?.id ?? '';
      span.end();
      return span;
    });
    await waitFor('the handler', () => inHandler !== undefined);
    const traceId = checkout.spanContext().traceId;
    const create = spansOf(traceId).find((s) => s.name === `create ${destination}`);
    assert.ok(create, 'a create span in the caller trace');
    await waitFor('the process span ended', () =>
      exporter.getFinishedSpans().some((s) => s.name === `process ${destination}` && s.kind === SpanKind.CONSUMER),
    );
    const send = exporter.getFinishedSpans().find((s) => s.name === `send ${destination}`);
    const process = exporter.getFinishedSpans().find((s) => s.name === `process ${destination}`);
    assert.ok(send && process);
    return {
      checkout: checkout as unknown as ReadableSpan,
      create,
      send,
      process,
      inHandler: inHandler as SpanContext,
      logLine: JSON.parse(lines.find((l) => l.includes('payment recorded')) ?? '{}'),
      eventId,
    };
  } finally {
    await relay.stop();
    await consumer.stop();
  }
}

describe('traces: outbox.add -> relay -> handler, linked', () => {
  let db: TestSchema;
  before(async () => {
    db = await freshSchema();
  });
  after(async () => {
    await db.drop();
    await provider.shutdown();
    contextManager.disable();
  });

  const checkJourney = (j: Journey, system: string, destination: string) => {
    const checkout = j.checkout.spanContext();
    // create: a child of the caller's span, named for its destination, with the event's id.
    assert.equal(j.create.spanContext().traceId, checkout.traceId);
    assert.equal(parentId(j.create), checkout.spanId);
    assert.equal(j.create.kind, SpanKind.PRODUCER);
    assert.equal(j.create.attributes['messaging.operation.type'], 'create');
    assert.equal(j.create.attributes['messaging.message.id'], j.eventId);
    assert.equal(j.create.attributes['messaging.destination.name'], destination);
    // send: the relay's own trace, linked to the event's creation.
    assert.ok(linkedTo(j.send, j.create.spanContext()), 'send links to create');
    assert.notEqual(j.send.spanContext().traceId, checkout.traceId);
    assert.equal(j.send.kind, SpanKind.PRODUCER);
    assert.equal(j.send.attributes['messaging.system'], system);
    assert.equal(j.send.attributes['messaging.operation.name'], 'send');
    assert.equal(j.send.attributes['messaging.batch.message_count'], 1);
    // process: linked to the creation too; the handler runs inside it.
    assert.equal(j.process.kind, SpanKind.CONSUMER);
    assert.equal(j.process.attributes['messaging.system'], system);
    assert.equal(j.process.attributes['messaging.operation.type'], 'process');
    assert.equal(j.process.attributes['messaging.message.id'], j.eventId);
    assert.equal(j.process.attributes['messaging.message.conversation_id'], j.eventId);
    assert.equal(typeof j.process.attributes['messaging.consumer.group.name'], 'string');
    assert.equal(j.process.attributes['herald.outcome'], 'handled');
    assert.equal(j.inHandler.spanId, j.process.spanContext().spanId, 'the handler runs in the process span');
    // Herald's log lines in the handler name the span.
    assert.equal(j.logLine.trace_id, j.process.spanContext().traceId);
    assert.equal(j.logLine.span_id, j.process.spanContext().spanId);
  };

  it('on Kafka', async () => {
    const topic = await createTopic(1);
    const transport = kafka({ brokers });
    try {
      const j = await journey(db, transport, topic);
      checkJourney(j, 'kafka', topic);
      assert.ok(linkedTo(j.process, j.create.spanContext()), 'process links to create');
      assert.equal(j.process.attributes['messaging.destination.partition.id'], '0');
    } finally {
      await transport.close();
    }
  });

  it('on PostgreSQL as the broker, with the process span a child of the creation', async () => {
    const transport = postgres({ db: db.pool, schema: db.schema });
    try {
      const j = await journey(db, transport, 'payments', 'child');
      checkJourney(j, 'postgres', 'payments');
      assert.equal(j.process.spanContext().traceId, j.checkout.spanContext().traceId, 'one trace, caller to handler');
      assert.equal(parentId(j.process), j.create.spanContext().spanId);
    } finally {
      await transport.close();
    }
  });

  for (const offsets of ['broker', 'database'] as const) {
    it(`each message of a group has its own process span, active in its handler (Kafka, offsets: '${offsets}')`, async () => {
      const topic = await createTopic(1);
      const Step = defineEvent({
        type: 'step.taken',
        version: 1,
        destination: topic,
        schema: z.object({ n: z.number() }),
        key: (p) => `k${p.n % 3}`,
      });
      const transport = kafka({ brokers });
      const ids = Array.from({ length: 40 }, () => uuidv7());
      const given = (k: number) => `00-${'1'.repeat(24)}${String(k).padStart(8, '0')}-${'2'.repeat(16)}-01`;
      await transport.publish(
        ids.map((id, k) => eventMessage(topic, Step.type, { n: k }, { id, key: `k${k % 3}`, traceparent: given(k) })),
      );
      const group = uniqueName('g');
      // One transaction at a time: the keys' messages wait for it, and groups form.
      const consumer = createConsumer({
        transport,
        group,
        db: db.pool,
        schema: db.schema,
        logger: silentLogger,
        offsets,
        concurrency: 1,
      });
      const inHandler = new Map<string, string | undefined>();
      const txids = new Set<string>();
      consumer.on(Step, async (event, { tx }) => {
        inHandler.set(event.id, trace.getActiveSpan()?.spanContext().spanId);
        const { rows } = await (tx as pg.PoolClient).query('SELECT txid_current()::text AS txid');
        txids.add(rows[0].txid);
      });
      await consumer.start();
      try {
        await waitFor('every message', () => consumer.stats().handled === ids.length);
      } finally {
        await consumer.stop();
        await transport.close();
      }
      assert.ok(txids.size < ids.length, `${ids.length} messages in ${txids.size} transactions`);
      const spans = exporter.getFinishedSpans().filter((s) => s.name === `process ${topic}`);
      for (const [k, id] of ids.entries()) {
        const own = spans.find((s) => s.attributes['messaging.message.id'] === id);
        assert.ok(own, `a process span for message ${k}`);
        assert.equal(own.attributes['herald.outcome'], 'handled');
        assert.equal(own.links[0]?.context.traceId, given(k).slice(3, 35), 'linked to its own creation');
        assert.equal(inHandler.get(id), own.spanContext().spanId, `message ${k}'s handler runs in its own span`);
      }
    });
  }

  it('a traceparent given by the caller is the create span parent; no span active, no trace ids in logs', async () => {
    const Noted = defineEvent({ type: 'noted', version: 1, schema: z.object({}), key: () => 'k' });
    const given = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const outbox = createOutbox({ schema: db.schema });
    await inTransaction(db.pool, (tx) => outbox.add(tx, Noted({}, { traceparent: given })));
    const create = spansOf('0af7651916cd43dd8448eb211c80319c').find((s) => s.name === 'create noted');
    assert.ok(create);
    assert.equal(parentId(create), 'b7ad6b7169203331');
    const { rows } = await db.pool.query(`SELECT traceparent FROM "${db.schema}".log WHERE type = 'noted'`);
    assert.equal(rows[0].traceparent, `00-0af7651916cd43dd8448eb211c80319c-${create.spanContext().spanId}-01`);
    const lines: string[] = [];
    createLogger({ level: 'info', write: (line) => lines.push(line) }).info({}, 'outside any span');
    assert.doesNotMatch(lines[0] ?? '', /trace_id/);
  });

  it('failures are spans with error.type: a message the broker refuses, a message dead-lettered', async () => {
    const small = await createTopic(1, 'herald-trace-small', { 'max.message.bytes': '1024' });
    const Note = defineEvent({
      type: 'note',
      version: 1,
      destination: small,
      schema: z.object({ text: z.string() }),
      key: () => 'k',
    });
    await inTransaction(db.pool, (tx) => createOutbox({ schema: db.schema }).add(tx, Note({ text: 'x'.repeat(4000) })));
    const kafkaTransport = kafka({ brokers });
    const refusing = createRelay({
      db: db.pool,
      schema: db.schema,
      transport: kafkaTransport,
      logger: silentLogger,
      maxAttempts: 1,
    });
    await refusing.start();
    try {
      await waitFor('the event dead-lettered by the relay', () => refusing.stats().deadLettered === 1);
    } finally {
      await refusing.stop();
      await kafkaTransport.close();
    }
    const refused = exporter.getFinishedSpans().find((s) => s.name === `send ${small}`);
    assert.equal(refused?.status.code, SpanStatusCode.ERROR);
    assert.equal(refused?.attributes['error.type'], 'HERALD_MESSAGE_TOO_LARGE');

    const Refused = defineEvent({
      type: 'refund.refused',
      version: 1,
      destination: 'refunds',
      schema: z.object({}),
      key: () => 'k',
    });
    await inTransaction(db.pool, (tx) => createOutbox({ schema: db.schema }).add(tx, Refused({})));
    const transport = postgres({ db: db.pool, schema: db.schema });
    const consumer = createConsumer({
      transport,
      group: uniqueName('g'),
      db: db.pool,
      schema: db.schema,
      logger: silentLogger,
    });
    consumer.on(Refused, () => {
      throw new NonRetriableError('refunds are closed');
    });
    const relay = createRelay({ db: db.pool, schema: db.schema, transport, logger: silentLogger });
    await consumer.start();
    await relay.start();
    try {
      await waitFor('dead-lettered', () => consumer.stats().deadLettered === 1);
      await waitFor('the process span', () => exporter.getFinishedSpans().some((s) => s.name === 'process refunds'));
    } finally {
      await relay.stop();
      await consumer.stop();
      await transport.close();
    }
    const failed = exporter.getFinishedSpans().find((s) => s.name === 'process refunds');
    assert.equal(failed?.status.code, SpanStatusCode.ERROR);
    assert.equal(failed?.attributes['error.type'], 'HERALD_HANDLER_FAILED');
    assert.equal(failed?.attributes['herald.outcome'], 'dead_lettered');
  });

  it('a run that stops early: what it finished ends with its outcome and is counted; the rest ends with why, a stop as no failure', async () => {
    await loadTracing();
    const registry = new Registry();
    const metrics = await prometheusMetrics({ registry });
    const handled = async (group: string) =>
      (await registry.getMetricsAsJSON())
        .find((m) => m.name === 'herald_consumer_processed_events_total')
        ?.values.find((v) => v.labels.group === group && v.labels.outcome === 'handled')?.value ?? 0;
    for (const cause of [new Released(), new Error('dead letter refused')]) {
      const group = uniqueName('g');
      const run = [0, 1, 2].map((i) => ({
        ...eventMessage('orders', 'order.step', { i }),
        partition: 0,
        offset: String(i),
        key: 'k',
      }));
      // The run's first message is done, then the run stops.
      const handleRun = observedRuns(
        async (_ms, _giveUp, _contexts, settled) => {
          settled(0, 'handled');
          throw new Unfinished(1, cause);
        },
        { metrics, group, transport: 'kafka', processSpan: 'link' },
      );
      await assert.rejects(
        handleRun(run, async () => {}),
        Unfinished,
      );
      const spans = exporter.getFinishedSpans().filter((s) => s.attributes['messaging.consumer.group.name'] === group);
      const of = (k: number) => spans.find((s) => s.attributes['messaging.message.id'] === run[k]?.id);
      assert.equal(spans.length, 3, 'a span per message, each ended');
      assert.equal(of(0)?.attributes['herald.outcome'], 'handled');
      assert.equal(of(0)?.status.code, SpanStatusCode.UNSET, 'the finished message is no failure');
      for (const k of [1, 2]) {
        assert.equal(of(k)?.attributes['herald.outcome'], undefined);
        assert.equal(
          of(k)?.status.code,
          cause instanceof Released ? SpanStatusCode.UNSET : SpanStatusCode.ERROR,
          `message ${k}: ${cause.name}`,
        );
      }
      assert.equal(await handled(group), 1, 'the finished message is counted');
    }
  });
});
