import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as otel from '@opentelemetry/api';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { z } from 'zod';
import { createOutbox, defineEvent } from '../../src/index.ts';
import { tracingOn } from '../../src/observe/tracing.ts';
import { freshSchema, inTransaction, type TestSchema } from '../support/env.ts';

// @opentelemetry/api installed, a context manager, and no SDK (each test file runs in a process of
// its own): outbox.add makes no span, and each event still carries the trace context it was given,
// or else the active one's, as a no-op span would have handed it on.
describe('outbox.add without an OpenTelemetry SDK', () => {
  let db: TestSchema;
  before(async () => {
    db = await freshSchema();
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  });
  after(async () => {
    context.disable();
    await db.drop();
  });
  const Noted = defineEvent({ type: 'trace.off.noted', version: 1, schema: z.object({}), key: () => 'k' });
  const stored = async (id: string) =>
    (
      await db.pool.query<{ traceparent: string | null }>(`SELECT traceparent FROM "${db.schema}".log WHERE id = $1`, [
        id,
      ])
    ).rows[0]?.traceparent;

  it('keeps the given traceparent, takes the active span context otherwise, and none without one', async () => {
    assert.equal(tracingOn(otel), false, 'no SDK registered in this process');
    const outbox = createOutbox({ schema: db.schema });
    const given = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const [a] = await inTransaction(db.pool, (tx) => outbox.add(tx, Noted({}, { traceparent: given })));
    assert.equal(await stored(a?.id as string), given);

    // A context propagated from a request (a remote parent), with no SDK to make spans.
    const remote = trace.setSpanContext(context.active(), {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: 1,
      isRemote: true,
    });
    const [b] = await context.with(remote, () => inTransaction(db.pool, (tx) => outbox.add(tx, Noted({}))));
    assert.equal(await stored(b?.id as string), '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');

    const [c] = await inTransaction(db.pool, (tx) => outbox.add(tx, Noted({})));
    assert.equal(await stored(c?.id as string), null);
  });
});
