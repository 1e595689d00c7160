// The chaos run at CI size (SHORT in run.ts): every pattern under load at once on a private stack,
// a worker SIGKILL and a Redis outage meanwhile, then the independent checks. The full-scale run
// is scripts/chaos; its results are in docs/reliability.md.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runChaos, SHORT } from './run';

describe('chaos run (short)', { timeout: 600_000 }, () => {
  it('every pattern keeps its promises through a worker SIGKILL and a Redis outage', async () => {
    const result = await runChaos(SHORT, { command: 'test/chaos/chaos.test.ts', log: () => undefined });
    assert.equal(result.faults.length, SHORT.faults.length, 'every fault was injected');
    for (const check of result.checks) {
      assert.ok(check.ok, `${check.pattern}: ${check.problems.join('; ')}\n${JSON.stringify(check.counts)}`);
    }
    assert.deepEqual(
      result.checks.map((c) => c.pattern),
      ['multicast', 'cdc', 'saga', 'sessions'],
    );
  });
});
