// The per-call cost of our breaker + bulkhead wrapper next to the bare call, and next to
// cockatiel's and opossum's equivalent policies, on the same trivial async call.
import { bulkhead, circuitBreaker, ConsecutiveBreaker, handleAll, wrap } from 'cockatiel';
import CircuitBreaker from 'opossum';
import { BackendGuard } from '../../src/resilience/backend-guard';
import { parseResilienceConfig } from '../../src/resilience/config';
import type { BenchCase, Measurement } from '../lib/types';

const CALLS = 200_000;
const call = async (): Promise<number> => 1;

async function nsPerCall(run: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 5_000; i++) await run(); // warm up
  const start = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) await run();
  return Number(process.hrtime.bigint() - start) / CALLS;
}

export const resilienceCase: BenchCase = {
  id: 'resilience',
  title: 'Resilience wrapper overhead per call',
  async run(): Promise<Measurement[]> {
    const guard = new BackendGuard({ backend: 'bench', driver: 'none', config: parseResilienceConfig() });
    const cockatiel = wrap(
      bulkhead(32, 64),
      circuitBreaker(handleAll, { halfOpenAfter: 30_000, breaker: new ConsecutiveBreaker(5) }),
    );
    const opossum = new CircuitBreaker(call, {
      timeout: false,
      volumeThreshold: 5,
      capacity: 32,
      resetTimeout: 30_000,
    });

    const bare = await nsPerCall(call);
    const ours = await nsPerCall(() => guard.execute('op', call));
    const withCockatiel = await nsPerCall(() => cockatiel.execute(call));
    const withOpossum = await nsPerCall(() => opossum.fire());
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
      m('Prism guard vs bare call', ours, bare, 'bare call'),
      m('Prism guard vs cockatiel (bulkhead + breaker)', ours, withCockatiel, 'cockatiel'),
      m('Prism guard vs opossum', ours, withOpossum, 'opossum'),
    ];
  },
};
