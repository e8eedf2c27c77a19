// What an operator sees of a relay and a consumer running inside a service: Prometheus metrics,
// /healthz and /readyz, and one trace from the request that wrote an event to the handler that
// acted on it. The service writes `payment.captured` in a request's span; the tracing SDK here
// keeps spans in memory, where a real one exports them (OTLP).
//   DATABASE_URL=postgres://... KAFKA_BROKERS=127.0.0.1:9092 node examples/operations.ts
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import {
  createConsumer,
  createHttpHandler,
  createOutbox,
  createRelay,
  defineEvent,
  migrate,
  prometheusMetrics,
  silentLogger,
} from 'herald';
import { kafka } from 'herald/kafka';
import pg from 'pg';
import { Registry } from 'prom-client';
import { z } from 'zod';

// #region tracing
// Your OpenTelemetry SDK, registered before Herald runs (in production: NodeSDK and an OTLP
// exporter). Herald uses @opentelemetry/api alone and needs nothing else.
const spans = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
trace.setGlobalTracerProvider(provider);
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
// #endregion tracing

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' });
const schema = `herald_operations_example_${process.pid}`;
await migrate(pool, { schema });
const transport = kafka({ brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',') });
const PaymentCaptured = defineEvent({
  type: 'payment.captured',
  version: 1,
  destination: `payments-${process.pid}`,
  schema: z.object({ orderId: z.string(), amount: z.number().int() }),
  key: (p) => p.orderId,
});

// #region metrics
// Herald's metrics on your registry (or prom-client's default `register`), from the relay and the
// consumer of this process; the backlog, leases, dead letters and lag are read when scraped.
const registry = new Registry();
const metrics = await prometheusMetrics({ registry });
const relay = createRelay({ db: pool, schema, transport, metrics, logger: silentLogger });
const consumer = createConsumer({ transport, group: 'ledger', db: pool, schema, metrics, logger: silentLogger });
// #endregion metrics
consumer.on(PaymentCaptured, async (event, { tx }) => {
  await tx.query('SELECT $1::text', [event.payload.orderId]); // the ledger entry, in the inbox's transaction
});
await consumer.start();
await relay.start();

// #region mount
// /ops/healthz, /ops/readyz and /ops/metrics beside the service's own routes.
const ops = createHttpHandler({
  checks: [relay, consumer],
  metrics,
  basePath: '/ops',
  ...(process.env.OPS_TOKEN ? { token: process.env.OPS_TOKEN } : {}),
});
const server = createServer((req, res) =>
  ops(req, res, () => {
    res.writeHead(404).end(); // the service's own routes
  }),
);
// #endregion mount
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ops`;

// A request's span; the event written in it carries its trace.
const outbox = createOutbox({ schema });
await trace.getTracer('payments').startActiveSpan('POST /payments', async (span) => {
  const tx = await pool.connect();
  await tx.query('BEGIN');
  await outbox.add(tx, PaymentCaptured({ orderId: 'o-1', amount: 4200 }));
  await tx.query('COMMIT');
  tx.release();
  span.end();
});

const deadline = Date.now() + 30_000;
while (consumer.stats().handled === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
// Readiness waits for the consumer to join its group; a probe would retry the same way.
let ready = await fetch(`${base}/readyz`);
while (ready.status !== 200 && Date.now() < deadline) {
  await new Promise((r) => setTimeout(r, 100));
  ready = await fetch(`${base}/readyz`);
}
console.log(`readyz: ${ready.status}`);
const scraped = await (await fetch(`${base}/metrics`)).text();
for (const line of scraped.split('\n')) {
  if (/^herald_(relay_published_events_total|consumer_processed_events_total)\{/.test(line)) {
    console.log(line.replace(/destination="[^"]+"/, 'destination="payments"'));
  }
}
const finished = spans.getFinishedSpans();
const [request, create, send, process_] = ['POST /payments', 'create', 'send', 'process'].map((name) =>
  finished.find((s) => s.name === name || s.name.startsWith(`${name} `)),
);
const linked = (from: typeof send, to: typeof create) =>
  from?.links.some((l) => l.context.spanId === to?.spanContext().spanId) ?? false;
console.log(
  `trace: create is a child of the request: ${create?.parentSpanContext?.spanId === request?.spanContext().spanId}; ` +
    `send links to it: ${linked(send, create)}; process links to it: ${linked(process_, create)}`,
);

server.close();
await consumer.stop();
await relay.stop();
await transport.close();
await provider.shutdown();
await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
await pool.end();
