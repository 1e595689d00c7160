// `prism session …` against Redis, with the topology from the worker config's settings.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { join } from 'node:path';
import { uniqueName } from '../../helpers/env';
import { DIST_ROOT, runProcess, testConfig, writeConfig } from '../../helpers/worker-process';
import { redisDb } from './fixtures';

const CLI = join(DIST_ROOT, 'src/cli/main.js');

describe('session store: CLI', () => {
  const file = writeConfig(
    testConfig(uniqueName('session-cli'), {
      backends: { a0: redisDb(6), a1: redisDb(7) },
      patterns: {
        'session-store': {
          slots: { shards: ['a0', 'a1'] },
          settings: { regions: { a: ['a0', 'a1'] }, default_ttl_seconds: 120 },
        },
      },
    }),
  );
  const prism = (...args: string[]) => runProcess([CLI, 'session', ...args, '--config', file, '--region', 'a']);

  it('creates a session, writes and reads a value, lists it, deletes it', async () => {
    const user = uniqueName('user');
    const created = await prism('create', '--user', user, '--attr', 'plan=pro');
    assert.equal(created.code, 0, created.stderr);
    const session = JSON.parse(created.stdout) as { sessionId: string; metadata: { attributes: object } };
    assert.deepEqual(session.metadata.attributes, { plan: 'pro' });

    assert.equal((await prism('set', session.sessionId, 'cart', '{"items":[3]}')).code, 0);
    const read = await prism('get-data', session.sessionId, 'cart');
    assert.deepEqual(JSON.parse(read.stdout), { items: [3] });

    const listed = await prism('list', '--user', user);
    const lines = listed.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.equal((JSON.parse(lines[0]) as { sessionId: string }).sessionId, session.sessionId);
    assert.deepEqual(JSON.parse(lines[1]), { cursor: null });

    assert.equal((await prism('delete', session.sessionId)).code, 0);
    const gone = await prism('get', session.sessionId);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /session .* does not exist/);
  });

  it('reports bad input clearly', async () => {
    const badTtl = await prism('create', '--user', 'u', '--ttl', 'soon');
    assert.equal(badTtl.code, 1);
    assert.match(badTtl.stderr, /ttlSeconds must be a whole number of seconds/);
    const badRegion = await prism('list', '--in', 'mars');
    assert.equal(badRegion.code, 1);
    assert.match(badRegion.stderr, /unknown region "mars"/);
    const usage = await prism('set', 'only-an-id');
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /session set <id> <key> <json>/);
  });
});
