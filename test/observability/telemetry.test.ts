// One worker process on the real stack with every built-in pattern and tracing on, and a
// workflow of each of kv-probe, saga and multicast run through it. Then:
// - the spans (collected by a small OTLP/HTTP receiver started here, no collector needed) chain
//   client start → workflow → activity → driver operation, for one saga and one multicast;
// - every series on its /metrics is listed in docs/metrics.md with its type, and every series of
//   ours listed there is served (the list cannot drift from the code);
// - the Grafana dashboard's queries and the Prometheus alert rules name only series that exist.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { MulticastRegistryClient } from '../../src/client/multicast-registry';
import { PrismClient } from '../../src/client/prism-client';
import { SessionStore } from '../../src/client/session-store';
import { configSchema } from '../../src/config/schema';
import { startTracing, type Tracing } from '../../src/observability/tracing';
import { SPAN_ATTRIBUTE } from '../../src/resilience/driver-spans';
import { stackEnv, uniqueName } from '../helpers/env';
import { OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver';
import { orderInput, SAGA_SCHEMA } from '../helpers/saga-env';
import { DIST_ROOT, startWorker, testConfig, waitFor, type WorkerProcess } from '../helpers/worker-process';

const REPO = join(DIST_ROOT, '..');
/** From this suite's private port range: Temporal's runtime serves its metrics here. */
const TEMPORAL_METRICS_PORT = 16801;

/** Metric families on a Prometheus text page: name → type. */
function families(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1], m[2]);
  return out;
}

/** docs/metrics.md's table rows: | `name` | type | labels | meaning | */
function documented(): Map<string, string> {
  const out = new Map<string, string>();
  const doc = readFileSync(join(REPO, 'docs/metrics.md'), 'utf8');
  for (const m of doc.matchAll(/^\| `(prism_\w+)` \| (\w+) \|/gm)) out.set(m[1], m[2]);
  return out;
}

/** The metric families a PromQL expression names (a histogram's _bucket/_sum/_count is its family). */
function namesIn(expr: string, known: ReadonlySet<string>): string[] {
  return [...expr.matchAll(/\bprism_\w+/g)].map(([name]) => {
    if (known.has(name)) return name;
    const family = name.replace(/_(bucket|sum|count)$/, '');
    return known.has(family) ? family : name;
  });
}

/** The span's ancestors, nearest first, within the spans received. */
function ancestors(span: ReceivedSpan, byId: Map<string, ReceivedSpan>): ReceivedSpan[] {
  const chain: ReceivedSpan[] = [];
  for (let parent = byId.get(span.parentSpanId); parent; parent = byId.get(parent.parentSpanId)) chain.push(parent);
  return chain;
}

describe('telemetry: traces, the metrics list, the dashboard and alert rules', () => {
  const taskQueue = uniqueName('telemetry');
  const receiver = new OtlpReceiver();
  let tracing: Tracing;
  let worker: WorkerProcess;
  let client: PrismClient;
  let scraped = '';
  const workflowIds: { saga?: string; multicast?: string } = {};

  before(async () => {
    const endpoint = `${await receiver.start()}/v1/traces`;
    tracing = await startTracing({ endpoint, serviceName: 'prism-test-client', sampleRatio: 1 });
    const config = testConfig(taskQueue, {
      backends: {
        redis: { driver: 'redis', config: { url: stackEnv.redisUrl } },
        nats: { driver: 'nats', config: { servers: stackEnv.natsUrl } },
        pg: { driver: 'postgres', config: { url: stackEnv.postgresUrl, schema: SAGA_SCHEMA } },
        kafka: { driver: 'kafka', config: { brokers: stackEnv.kafkaBrokers } },
        // The session regions under a prefix of this run: a shard's change feed is one stream per
        // keyspace, so an unprefixed db would share it with every other store on that db.
        'sessions-eu': { driver: 'redis', config: { url: stackEnv.redisUrl, keyPrefix: `${taskQueue}:` } },
        'sessions-us': { driver: 'redis', config: { url: `${stackEnv.redisUrl}/2`, keyPrefix: `${taskQueue}:` } },
      },
      patterns: {
        'kv-probe': { slots: { store: 'redis' } },
        saga: {
          slots: { orders: 'pg', events: 'kafka', cache: 'redis' },
          activity: { retry: { initial_interval: '200ms', maximum_attempts: 3 } },
        },
        'multicast-registry': { slots: { registry: 'redis', messaging: 'nats' } },
        'session-store': {
          slots: { shards: ['sessions-eu', 'sessions-us'] },
          settings: { regions: { eu: ['sessions-eu'], us: ['sessions-us'] } },
        },
        cdc: { slots: { source: 'pg', sink: 'kafka' } },
      },
      worker: { temporal_metrics_port: TEMPORAL_METRICS_PORT },
    });
    worker = await startWorker(
      { ...config, telemetry: { tracing: { enabled: true, endpoint, service_name: 'prism-test-worker' } } },
      // Spans leave the worker within 200 ms instead of the default 5 s.
      { env: { OTEL_BSP_SCHEDULE_DELAY: '200' } },
    );
    client = await PrismClient.connect({ taskQueue });

    const probe = await client.start('kvProbeWorkflow', [{ key: uniqueName('probe'), value: 'v' }], {
      pattern: 'kv-probe',
    });
    await probe.handle.result();
    const saga = await client.start('orderSagaWorkflow', [orderInput({}, 'telemetry')], { pattern: 'saga' });
    workflowIds.saga = saga.workflowId;
    await saga.handle.result();
    const registry = new MulticastRegistryClient(client, uniqueName('telemetry'));
    await registry.register('web-1', { group: 'a' }, { ttlSeconds: 600 });
    await registry.register('web-2', { group: 'a' }, { ttlSeconds: 600 });
    const multicast = await registry.startMulticast({ group: 'a' }, 'hello');
    workflowIds.multicast = multicast.workflowId;
    const report = await multicast.result();
    assert.equal(report.delivered, 2);
    // A session written in one region and replicated to the other: the replication lag series.
    const sessions = await SessionStore.fromConfig(configSchema.parse(config), {
      region: 'eu',
      replication: { client: client.temporal },
    });
    try {
      const session = await sessions.createSession(
        { userId: uniqueName('user'), clientId: 'web' },
        { ttlSeconds: 600 },
      );
      await sessions.setData(session.sessionId, 'cart', { items: 2 });
      await waitFor('the session replicated', async () => {
        const text = await (await fetch(`http://127.0.0.1:${worker.httpPort}/metrics`)).text();
        return /^prism_session_store_replication_lag_seconds_count\{[^}]*\} [1-9]/m.test(text) || undefined;
      });
    } finally {
      await sessions.close();
    }
    await tracing.flush();
    scraped = await (await fetch(`http://127.0.0.1:${worker.httpPort}/metrics`)).text();
  });

  after(async () => {
    await client?.close();
    await worker?.stop();
    await receiver.stop();
  });

  /** Waits for the trace whose root is the client's start of `workflowId` to hold driver spans. */
  async function traceOf(workflowId: string): Promise<{ root: ReceivedSpan; spans: ReceivedSpan[] }> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const root = receiver.spans.find(
        (s) => s.name.startsWith('StartWorkflow:') && s.attributes.temporalWorkflowId === workflowId,
      );
      const spans = root ? receiver.spans.filter((s) => s.traceId === root.traceId) : [];
      if (root && spans.some((s) => s.attributes[SPAN_ATTRIBUTE.capability] !== undefined)) return { root, spans };
      if (Date.now() > deadline) {
        throw new Error(`no driver spans for ${workflowId}; received: ${receiver.spans.map((s) => s.name).join(', ')}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  for (const [pattern, workflowType, backends] of [
    ['saga', 'orderSagaWorkflow', ['pg', 'kafka']],
    ['multicast', 'multicastWorkflow', ['redis', 'nats']],
  ] as const) {
    it(`a ${pattern}'s driver calls chain up to the client's start: driver → activity → workflow → start`, async () => {
      const { root, spans } = await traceOf(workflowIds[pattern]!);
      assert.equal(root.name, `StartWorkflow:${workflowType}`);
      assert.equal(root.parentSpanId, '', 'the client start is the root of the trace');
      const byId = new Map(spans.map((s) => [s.spanId, s]));
      const driverSpans = spans.filter((s) => s.attributes[SPAN_ATTRIBUTE.capability] !== undefined);
      for (const span of driverSpans) {
        const chain = ancestors(span, byId);
        const names = chain.map((s) => s.name);
        assert.match(names[0] ?? '', /^RunActivity:/, `${span.name}'s parent is its activity: ${names.join(' ← ')}`);
        assert.ok(
          names.some((n) => n.startsWith('RunWorkflow:')),
          `${span.name} is inside a workflow`,
        );
        assert.equal(chain.at(-1), root, `${span.name} chains up to the client's start`);
        assert.equal(span.attributes[SPAN_ATTRIBUTE.operation], span.name.split('.').at(-1));
        assert.equal(typeof span.attributes[SPAN_ATTRIBUTE.driver], 'string');
      }
      assert.ok(
        chainIncludes(spans, byId, root, `RunWorkflow:${workflowType}`),
        `the ${workflowType} run is a child of the client's start`,
      );
      const seen = new Set(driverSpans.map((s) => s.attributes[SPAN_ATTRIBUTE.backend]));
      for (const backend of backends)
        assert.ok(seen.has(backend), `a driver span on ${backend}: ${[...seen].join(', ')}`);
    });
  }

  it('serves every series docs/metrics.md lists, and lists every series it serves', () => {
    const served = families(scraped);
    const listed = documented();
    assert.ok(served.size > 0, 'a /metrics page');
    for (const [name, type] of served) {
      assert.ok(name.startsWith('prism_'), `${name} has the prism_ prefix`);
      assert.equal(listed.get(name), type, `${name} (${type}) is listed in docs/metrics.md with its type`);
      if (type === 'counter') assert.match(name, /_total$/, `counter ${name} ends in _total`);
    }
    // Temporal's SDK series appear once used (a failed workflow's counter after a failure): only
    // ours must all be served.
    for (const name of listed.keys()) {
      if (!name.startsWith('prism_temporal_')) assert.ok(served.has(name), `${name} is served`);
    }
    assert.ok(served.has('prism_temporal_workflow_completed_total'), "Temporal's series are served, named alike");
    assert.ok(served.has('prism_process_cpu_seconds_total'), 'process series are served');
  });

  it("the dashboard's queries and the alert rules name only series that exist", () => {
    const known = new Set([...families(scraped).keys(), ...documented().keys()]);
    const dashboard = JSON.parse(readFileSync(join(REPO, 'deploy/grafana/prism-dashboard.json'), 'utf8')) as {
      panels: { title: string; targets?: { expr: string }[] }[];
      templating?: { list: { name: string; type: string; query?: string | { query: string } }[] };
    };
    const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: p.title, expr: t.expr })));
    for (const v of (dashboard.templating?.list ?? []).filter((t) => t.type === 'query')) {
      const expr = typeof v.query === 'string' ? v.query : v.query?.query;
      if (expr) queries.push({ where: `variable ${v.name}`, expr });
    }
    assert.ok(queries.length >= 10, `the dashboard has queries (${queries.length})`);
    const rules = parseYaml(readFileSync(join(REPO, 'deploy/prometheus/prism-alerts.yml'), 'utf8')) as {
      groups: { name: string; rules: { alert: string; expr: string; for?: string }[] }[];
    };
    const alerts = rules.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })));
    assert.ok(alerts.length >= 3, 'alert rules');
    for (const { where, expr } of [...queries, ...alerts]) {
      const names = namesIn(expr, known);
      assert.ok(names.length > 0, `${where} queries a prism_ series: ${expr}`);
      for (const name of names) assert.ok(known.has(name), `${where}: ${name} exists (${expr})`);
    }
  });
});

function chainIncludes(
  spans: ReceivedSpan[],
  byId: Map<string, ReceivedSpan>,
  root: ReceivedSpan,
  name: string,
): boolean {
  return spans.some((s) => s.name === name && byId.get(s.parentSpanId) === root);
}
