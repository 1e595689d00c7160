// telemetry.tracing in the YAML and the OTEL_* variables: which wins, and bad input named.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/common/config-errors';
import { parseConfig } from '../../src/config/load';
import { tracingSettings } from '../../src/observability/tracing';

const base = 'backends: {}\npatterns: {}\n';

describe('telemetry.tracing', () => {
  it('is off by default and with no OTEL_* variables', () => {
    const config = parseConfig(base);
    assert.deepEqual(config.telemetry.tracing, {});
    assert.equal(tracingSettings(config.telemetry.tracing, 'prism-worker', {}), undefined);
  });

  it('takes the YAML fields, then the OTEL_* variables for the others', () => {
    const config = parseConfig(`${base}telemetry:\n  tracing: { enabled: true, sample_ratio: 0.25 }\n`);
    assert.deepEqual(
      tracingSettings(config.telemetry.tracing, 'prism-worker', {
        OTEL_SERVICE_NAME: 'checkout-workers',
        OTEL_TRACES_SAMPLER_ARG: '0.5',
      }),
      { serviceName: 'checkout-workers', sampleRatio: 0.25 },
    );
    const full = parseConfig(
      `${base}telemetry:\n  tracing: { enabled: true, endpoint: 'http://collector:4318/v1/traces', service_name: w }\n`,
    );
    assert.deepEqual(tracingSettings(full.telemetry.tracing, 'prism-worker', { OTEL_SERVICE_NAME: 'x' }), {
      endpoint: 'http://collector:4318/v1/traces',
      serviceName: 'w',
      sampleRatio: 1,
    });
  });

  it('turns on from OTEL_* when the YAML does not say, and OTEL_SDK_DISABLED wins', () => {
    const on = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    assert.deepEqual(tracingSettings({}, 'prism-worker', on), { serviceName: 'prism-worker', sampleRatio: 1 });
    assert.ok(tracingSettings({}, 'prism-worker', { OTEL_TRACES_EXPORTER: 'otlp' }));
    assert.equal(tracingSettings({ enabled: false }, 'prism-worker', on), undefined);
    assert.equal(tracingSettings({ enabled: true }, 'prism-worker', { OTEL_SDK_DISABLED: 'true' }), undefined);
  });

  it('refuses bad fields naming them', () => {
    const bad = (yaml: string, field: RegExp): void =>
      assert.throws(
        () => parseConfig(`${base}telemetry:\n  tracing: ${yaml}\n`),
        (err: unknown) => err instanceof ConfigError && field.test(err.message),
      );
    bad('{ sample_ratio: 2 }', /telemetry\.tracing\.sample_ratio/);
    bad("{ endpoint: 'not a url' }", /telemetry\.tracing\.endpoint/);
    bad('{ endpiont: x }', /telemetry\.tracing.*endpiont/);
    bad('{ enabled: yes please }', /telemetry\.tracing\.enabled/);
  });
});
