// `prism session …` against Redis, with the topology from the worker config's settings.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { join } from 'node:path';
import { uniqueName } from '../../helpers/env';
import { DIST_ROOT, runProcess, testConfig, writeConfig } from '../../helpers/worker-process';
import { redisDb } from './fixtures';

const CLI = join(DIST_ROOT, 'src/cli/main.js');

describe('session store: CLI', () => {
  const config = testConfig(uniqueName('session-cli'), {
    backends: { a0: redisDb(6), a1: redisDb(7) },
    patterns: {
      'session-store': {
        slots: { shards: ['a0', 'a1'] },
        settings: { regions: { a: ['a0', 'a1'] }, default_ttl_seconds: 120 },
      },
    },
  });
  const file = writeConfig(config);
  // Reads and writes talk to the shard backends only: a Temporal nobody listens at changes nothing.
  const offline = writeConfig({ ...config, temporal: { address: '127.0.0.1:16649', task_queue: 'nowhere' } });
  const prism = (...args: string[]) =>
    runProcess([CLI, 'session', ...args, '--config', offline, '--region', 'a', '-o', 'json']);

  it('creates a session, writes and reads a value, lists it, deletes it', async () => {
    const user = uniqueName('user');
    const created = await prism('create', '--user', user, '--attr', 'plan=pro');
    assert.equal(created.code, 0, created.stderr);
    const session = JSON.parse(created.stdout) as { sessionId: string; metadata: { attributes: object } };
    assert.deepEqual(session.metadata.attributes, { plan: 'pro' });

    const set = await prism('set', session.sessionId, 'cart', '{"items":[3]}');
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual((JSON.parse(set.stdout) as { data: object }).data, { cart: { items: [3] } });
    const extended = await prism('extend', session.sessionId, '600');
    assert.equal((JSON.parse(extended.stdout) as { sessionId: string }).sessionId, session.sessionId);
    // status (which asks Temporal too): the copy per region, inside the one JSON document.
    const status = await runProcess([
      CLI,
      'session',
      'status',
      session.sessionId,
      '--config',
      file,
      '--region',
      'a',
      '-o',
      'json',
    ]);
    assert.equal(status.code, 0, status.stderr);
    const replication = JSON.parse(status.stdout) as {
      sessionId: string;
      latestWrite: number;
      regions: Record<string, { inSync: boolean; writtenAt: number; feed: unknown }>;
    };
    assert.equal(replication.sessionId, session.sessionId);
    assert.deepEqual(Object.keys(replication.regions), ['a']);
    assert.equal(replication.regions.a.inSync, true);
    assert.equal(replication.regions.a.writtenAt, replication.latestWrite);
    const read = await prism('get-data', session.sessionId, 'cart');
    assert.deepEqual(JSON.parse(read.stdout), { key: 'cart', value: { items: [3] } });

    // One JSON document on stdout: the page and its cursor together.
    const listed = await prism('list', '--user', user);
    const page = JSON.parse(listed.stdout) as { sessions: { sessionId: string }[]; cursor: string | null };
    assert.deepEqual(
      page.sessions.map((s) => s.sessionId),
      [session.sessionId],
    );
    assert.equal(page.cursor, null);

    // The table form is for people: a header and the session's row.
    const table = await runProcess([CLI, 'session', 'get', session.sessionId, '--config', file, '--region', 'a']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, new RegExp(`^session: +${session.sessionId}$`, 'm'));
    assert.match(table.stdout, /^data: +\{"cart":\{"items":\[3\]\}\}$/m);

    assert.deepEqual(JSON.parse((await prism('delete-data', session.sessionId, 'cart')).stdout), { deleted: true });
    assert.deepEqual(JSON.parse((await prism('get', session.sessionId)).stdout).data, {});
    assert.deepEqual(JSON.parse((await prism('delete', session.sessionId)).stdout), { deleted: true });
    const gone = await prism('get', session.sessionId);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /session .* does not exist/);
  });

  it('reports bad input clearly', async () => {
    const badTtl = await prism('create', '--user', 'u', '--ttl', 'soon');
    assert.equal(badTtl.code, 2);
    assert.match(badTtl.stderr, /--ttl <seconds>' argument 'soon' is invalid\. expected a whole number/);
    const badRegion = await prism('list', '--in', 'mars');
    assert.equal(badRegion.code, 1);
    assert.match(badRegion.stderr, /unknown region "mars"/);
    const usage = await prism('set', 'only-an-id');
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /missing required argument 'key'/);
    assert.match(usage.stderr, /usage: prism session set \[options\] <session-id> <key> <json>/);
  });
});
