// What the guard records beyond ok and error: a business refusal is `refused` and no driver error,
// and, while tracing is on, a direct call's span with the guard's rejections and waits on it.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ApplicationFailure } from '@temporalio/common';
import { Registry } from 'prom-client';
import { refusal } from '../../src/activities/refusal';
import { createMetrics } from '../../src/observability/metrics';
import { BackendGuard } from '../../src/resilience/backend-guard';
import { ManualClock } from '../../src/resilience/clock';
import { SPAN_ATTRIBUTE, traceDriverCalls } from '../../src/resilience/driver-spans';
import { scrapedValue } from '../helpers/guard-metrics';
import { deferred, resilience, unavailable } from './helpers';

function setup(maxFailures = 5, capacity = 4) {
  const metrics = createMetrics(new Registry());
  const guard = new BackendGuard({
    backend: 'orders',
    driver: 'postgres',
    config: resilience({ max_failures: maxFailures }, { capacity, queue: 5 }),
    metrics,
    clock: new ManualClock(),
  });
  return { guard, registry: metrics.registry };
}

const direct = { capability: { name: 'ledger_basic', operation: 'applyChange' } };

describe('guard outcomes', () => {
  afterEach(() => traceDriverCalls(undefined));

  it('counts a BENIGN refusal as refused, not as an error nor a driver error', async () => {
    const { guard, registry } = setup();
    await assert.rejects(
      guard.execute('saga.orders.reserveStock', () => Promise.reject(refusal('not enough stock', 'OutOfStock'))),
      (err: unknown) => err instanceof ApplicationFailure && err.type === 'OutOfStock' && err.nonRetryable,
    );
    // Any other ApplicationFailure of an activity is an error, labelled with its type.
    await assert.rejects(
      guard.execute('saga.orders.reserveStock', () => Promise.reject(ApplicationFailure.nonRetryable('bad', 'Config'))),
    );
    const text = await registry.metrics();
    const op = { backend: 'orders', operation: 'saga.orders.reserveStock' };
    assert.equal(scrapedValue(text, 'prism_driver_operations_total', { ...op, status: 'refused' }), 1);
    assert.equal(scrapedValue(text, 'prism_driver_operations_total', { ...op, status: 'error' }), 1);
    assert.equal(scrapedValue(text, 'prism_driver_errors_total', op), 1);
    assert.equal(scrapedValue(text, 'prism_driver_errors_total', { ...op, error_type: 'Config' }), 1);
    assert.equal(guard.state(), 'closed');
  });

  it('opens a span per direct call, with the bulkhead wait and a breaker rejection as events', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    traceDriverCalls(provider.getTracer('test'));
    const { guard } = setup(1, 1);

    const gate = deferred();
    const first = guard.execute('ledger_basic.applyChange', () => gate.promise, direct);
    const second = guard.execute('ledger_basic.applyChange', () => Promise.reject(unavailable()), direct);
    gate.resolve();
    await first;
    await assert.rejects(second);
    await assert.rejects(guard.execute('ledger_basic.applyChange', () => Promise.resolve(), direct));

    const spans = exporter.getFinishedSpans();
    assert.equal(spans.length, 3);
    for (const span of spans) {
      assert.equal(span.name, 'ledger_basic.applyChange');
      assert.deepEqual(
        [SPAN_ATTRIBUTE.backend, SPAN_ATTRIBUTE.capability, SPAN_ATTRIBUTE.operation].map((k) => span.attributes[k]),
        ['orders', 'ledger_basic', 'applyChange'],
      );
    }
    assert.equal(spans.filter((s) => s.status.code === SpanStatusCode.UNSET).length, 1, 'one call succeeded');
    const waitedEvents = spans.find((s) => s.events.some((e) => e.name === 'prism.bulkhead.wait'));
    assert.ok(waitedEvents, 'the call that waited for the slot has the wait as events');
    assert.deepEqual(
      waitedEvents.events.map((e) => e.name),
      ['prism.bulkhead.wait', 'prism.bulkhead.acquired', 'exception'],
    );
    assert.equal(waitedEvents.status.code, SpanStatusCode.ERROR, 'it failed: unavailable');
    const refusedByBreaker = spans.find((s) => s.attributes[SPAN_ATTRIBUTE.status] === 'circuit_open');
    assert.ok(refusedByBreaker, 'the call refused by the open breaker says so');
    assert.deepEqual(
      refusedByBreaker.events.map((e) => e.name),
      ['prism.circuit_breaker.rejected', 'exception'],
    );
    assert.equal(refusedByBreaker.events[0].attributes?.['prism.circuit_breaker.state'], 'open');
  });

  it('does not mark a direct call failed for a business refusal', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    traceDriverCalls(provider.getTracer('test'));
    const { guard } = setup();
    await assert.rejects(
      guard.execute('ledger_basic.applyChange', () => Promise.reject(refusal('no', 'Refused')), direct),
    );
    const [span] = exporter.getFinishedSpans();
    assert.equal(span.status.code, SpanStatusCode.UNSET);
  });

  it('creates no span once tracing is off again', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    traceDriverCalls(provider.getTracer('test'));
    traceDriverCalls(undefined);
    const { guard } = setup();
    await guard.execute('ledger_basic.applyChange', () => Promise.resolve(1), direct);
    assert.equal(exporter.getFinishedSpans().length, 0);
  });
});
