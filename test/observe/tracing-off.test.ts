import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as otel from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { tracingOn } from '../../src/observe/tracing.ts';

// With @opentelemetry/api installed but no SDK registered, every span is a no-op: a consumer skips
// making one per delivery. Each test file runs in a process of its own, so none is registered yet.
describe('tracingOn: whether an SDK registered a tracer provider', () => {
  it('is off with the API alone, and on from the moment an application registers its SDK', () => {
    assert.equal(tracingOn(otel), false);
    assert.equal(otel.trace.getTracer('herald').startSpan('probe').isRecording(), false);
    const exporter = new InMemorySpanExporter();
    otel.trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
    );
    assert.equal(tracingOn(otel), true);
    otel.trace.getTracer('herald').startSpan('recorded').end();
    assert.equal(exporter.getFinishedSpans().length, 1);
    otel.trace.disable();
    assert.equal(tracingOn(otel), false);
  });
});
