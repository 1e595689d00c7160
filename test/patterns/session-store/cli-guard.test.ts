// `prism session …` calls made in one process share one guard per backend (BackendPool.shared()):
// failures add up across calls, so the breaker opens and later calls fail fast, even the connect.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { run } from '../../../src/cli/main';
import { BackendPool } from '../../../src/runtime/backend-pool';
import { uniqueName } from '../../helpers/env';
import { testConfig, writeConfig } from '../../helpers/worker-process';
import { redisDb } from './fixtures';

/** Nothing listens here (a port of this test's own): every connect is refused. */
const CLOSED_PORT = 16250;

describe('session store: CLI calls in one process share their guards', () => {
  it('connection failures open the breaker across calls; the next call fails fast', async () => {
    const file = writeConfig(
      testConfig(uniqueName('session-cli-guard'), {
        backends: {
          a0: redisDb(6),
          x0: {
            driver: 'redis',
            config: { url: `redis://127.0.0.1:${CLOSED_PORT}`, connectTimeoutMs: 1000 },
            circuit_breaker: { max_failures: 2, reset_timeout: '60s' },
          },
        },
        patterns: {
          'session-store': { slots: { shards: ['a0', 'x0'] }, settings: { regions: { a: ['a0'], x: ['x0'] } } },
        },
      }),
    );
    const call = async () => {
      const err: string[] = [];
      const code = await run(['session', 'get', 'some-session', '--config', file, '--region', 'x'], {
        out: () => undefined,
        err: (t) => err.push(t),
      });
      return { code, stderr: err.join('\n') };
    };

    for (let i = 0; i < 2; i++) {
      const refused = await call();
      assert.equal(refused.code, 1);
      assert.doesNotMatch(refused.stderr, /circuit/, refused.stderr);
    }
    const guard = BackendPool.shared().guard('x0');
    assert.equal(guard?.state(), 'open', 'two refused connects, counted by one breaker');
    const fast = await call();
    assert.equal(fast.code, 1);
    assert.match(fast.stderr, /circuit for backend "x0" is open/);
    assert.equal(BackendPool.shared().guard('x0'), guard, 'still the same guard');
    assert.equal(BackendPool.shared().guard('a0')?.state(), 'closed', 'the other backend is unaffected');
    assert.deepEqual(BackendPool.shared().names(), [], 'every call released its handles');
  });
});
