// The writer loop of the latency phase, on a thread of its own: the application's event loop is
// not the relay's, as in production where they are separate processes. Started by writers.ts.
import { parentPort, workerData } from 'node:worker_threads';
import pg from 'pg';
import { baselineWriter } from './baseline-relay.ts';
import { debeziumWriter } from './debezium-system.ts';
import { heraldWriter } from './herald-system.ts';
import { pacedWrites } from './pace.ts';
import { makePayload } from './payload.ts';
import type { PacedRequest } from './writers.ts';

const request = workerData as PacedRequest;
const { spec } = request;
const pool = new pg.Pool({ connectionString: request.databaseUrl, max: request.concurrency });
pool.on('error', () => {});
try {
  // Open every connection before the clock starts: connecting is not part of the latency.
  const clients = await Promise.all(Array.from({ length: request.concurrency }, () => pool.connect()));
  await Promise.all(clients.map((c) => c.query('SELECT 1')));
  for (const c of clients) c.release();
  const writer =
    spec.system === 'herald'
      ? heraldWriter(pool, spec.schema, spec.topic, spec.mode)
      : spec.system === 'debezium'
        ? debeziumWriter(pool, spec.schema)
        : baselineWriter(pool, spec.schema);
  // `rate` is in events a second: transactions of `eventsPerTx` events each, at rate / eventsPerTx.
  const n = request.eventsPerTx;
  const result = await pacedWrites({
    rate: request.rate / n,
    seconds: request.seconds,
    concurrency: request.concurrency,
    commit: (i) =>
      writer.commit(
        Array.from({ length: n }, (_, k) => makePayload(request.firstIndex + i * n + k, undefined, request.payload)),
      ),
  });
  parentPort?.postMessage({ ...result, committed: [...result.committed] });
} finally {
  await pool.end();
}
