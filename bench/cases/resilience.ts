// The per-call cost of our guard as a worker builds it — breaker + bulkhead with its prom-client
// metrics on, reached through the activity interceptor — next to the bare call and to cockatiel's
// and opossum's equivalent policies, on the same trivial async call.
import type { Context as ActivityContext } from '@temporalio/activity';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor } from '@temporalio/worker';
import { bulkhead, circuitBreaker, ConsecutiveBreaker, handleAll, wrap } from 'cockatiel';
import CircuitBreaker from 'opossum';
import { Registry } from 'prom-client';
import { activityLogging } from '../../src/observability/activity-logging';
import { createLogger } from '../../src/observability/logger';
import { createMetrics } from '../../src/observability/metrics';
import { createResilienceInterceptor } from '../../src/resilience/activity-interceptor';
import { BackendGuard } from '../../src/resilience/backend-guard';
import { parseResilienceConfig } from '../../src/resilience/config';
import type { BenchCase, Measurement } from '../lib/types';

const CALLS = 200_000;
/** Contenders take turns in rounds, so a neighbour's load on the machine hits them alike. */
const ROUNDS = 8;
const call = async (): Promise<number> => 1;

type Run = () => Promise<unknown>;

async function loop(run: Run, calls: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await run();
  return Number(process.hrtime.bigint() - start) / calls;
}

/** Median ns per call of each contender, measured in interleaved rounds after a warm-up. */
async function nsPerCall<K extends string>(contenders: Record<K, Run>): Promise<Record<K, number>> {
  const names = Object.keys(contenders) as K[];
  for (const name of names) await loop(contenders[name], 20_000);
  const samples = new Map<K, number[]>(names.map((n) => [n, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const name of names) samples.get(name)!.push(await loop(contenders[name], CALLS / ROUNDS));
  }
  const result = {} as Record<K, number>;
  for (const name of names) {
    const sorted = samples.get(name)!.sort((a, b) => a - b);
    result[name] = (sorted[(sorted.length - 1) >> 1] + sorted[sorted.length >> 1]) / 2;
  }
  return result;
}

/**
 * What a backend's Temporal worker runs around each activity, built as PrismWorker.create builds it:
 * the guard with the default knobs and createMetrics' prom-client series in their own registry,
 * reached through the activity interceptors, which the worker creates per activity execution.
 */
function workerPath(withLogging: boolean): Run {
  const metrics = createMetrics(new Registry());
  const guard = new BackendGuard({ backend: 'bench', driver: 'redis', config: parseResilienceConfig(), metrics });
  const factories = [createResilienceInterceptor(guard)];
  // The worker's default log level is info, so a successful call's debug line is not written.
  if (withLogging)
    factories.unshift(
      activityLogging(
        createLogger('info', {}, () => undefined),
        'bench',
      ),
    );
  const ctx = {
    info: {
      activityType: 'kv.get',
      activityId: '1',
      attempt: 1,
      workflowExecution: { workflowId: 'wf', runId: 'run' },
    },
    cancellationSignal: new AbortController().signal,
  } as unknown as ActivityContext;
  const input = { args: [], headers: {} } as unknown as ActivityExecuteInput;
  return () => {
    // Temporal composes the interceptors per execution: the outermost calls the next one in.
    const chain = factories.map((f) => f(ctx).inbound as Required<ActivityInboundCallsInterceptor>);
    const next = chain.reduceRight<(i: ActivityExecuteInput) => Promise<unknown>>(
      (inner, interceptor) => (i) => interceptor.execute(i, inner),
      () => call(),
    );
    return next(input);
  };
}

export const resilienceCase: BenchCase = {
  id: 'resilience',
  title: 'Resilience wrapper overhead per call',
  about:
    'The guard as a worker builds it: default knobs, prom-client metrics on (prism_driver_operation* observed per call), ' +
    'reached through the activity interceptor the worker creates per execution; cockatiel is ' +
    'wrap(circuitBreaker, bulkhead), opossum a breaker with capacity. All run the same trivial async call, ' +
    `${CALLS.toLocaleString('en-US')} calls each in ${ROUNDS} interleaved rounds (median round).`,
  async run(): Promise<Measurement[]> {
    const cockatiel = wrap(
      circuitBreaker(handleAll, { halfOpenAfter: 30_000, breaker: new ConsecutiveBreaker(5) }),
      bulkhead(32, 64),
    );
    const opossum = new CircuitBreaker(call, {
      timeout: false,
      volumeThreshold: 5,
      capacity: 32,
      resetTimeout: 30_000,
    });
    const ns = await nsPerCall({
      bare: call,
      guard: workerPath(false),
      guardAndLogging: workerPath(true),
      cockatiel: () => cockatiel.execute(call),
      opossum: () => opossum.fire(),
    });
    opossum.shutdown();
    const m = (name: string, value: number, baseline: number, baselineName: string): Measurement => ({
      name,
      unit: 'ns/call',
      better: 'lower',
      ours: value,
      baseline,
      baselineName,
    });
    return [
      m('worker guard (metrics on) vs bare call', ns.guard, ns.bare, 'bare call'),
      m('worker guard (metrics on) vs cockatiel (breaker + bulkhead)', ns.guard, ns.cockatiel, 'cockatiel'),
      m('worker guard (metrics on) vs opossum', ns.guard, ns.opossum, 'opossum'),
      m('worker guard + activity logging vs cockatiel', ns.guardAndLogging, ns.cockatiel, 'cockatiel'),
    ];
  },
};
