// Secrets: `{ env }` / `{ file }` references in driver configs resolved at start-up, scrubbed from
// logs and errors, redacted by `prism config dump`, and absent from workflow histories.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client as PgClient } from 'pg';
import { PrismClient } from '../../src/client/prism-client';
import { createLogger } from '../../src/observability/logger';
import { registerSecret, scrubText } from '../../src/common/secret-registry';
import { redactConfig, resolveSecretRefs, SecretError } from '../../src/security/secrets';
import { stackEnv, uniqueName } from '../helpers/env';
import { runProcess, startWorker, testConfig, WORKER_MAIN, writeConfig } from '../helpers/worker-process';
import { CLI_MAIN, tempDir } from './helpers';

describe('secret references', () => {
  it('resolves env and file references anywhere inside a value', () => {
    const dir = tempDir();
    const file = join(dir, 'pw');
    writeFileSync(file, 'from-a-file\n');
    const out = resolveSecretRefs(
      { url: { env: 'A' }, nested: [{ password: { file } }], plain: 'x', notRef: { env: 'A', more: 1 } },
      ['backends', 'db', 'config'],
      { A: 'from-env' },
    );
    assert.deepEqual(out, {
      url: 'from-env',
      nested: [{ password: 'from-a-file' }],
      plain: 'x',
      notRef: { env: 'A', more: 1 },
    });
  });

  it('names every unresolved field and its source, never a value', () => {
    assert.throws(
      () =>
        resolveSecretRefs(
          { a: { env: 'MISSING_ONE' }, b: [{ file: '/nonexistent/secret' }] },
          ['backends', 'x', 'config'],
          {},
        ),
      (err: Error) => {
        assert.ok(err instanceof SecretError);
        assert.match(err.message, /backends\.x\.config\.a: environment variable MISSING_ONE is not set/);
        assert.match(err.message, /backends\.x\.config\.b\[0\]: cannot read secret file \/nonexistent\/secret: ENOENT/);
        return true;
      },
    );
  });

  it('scrubs registered secrets and URL passwords from log lines', () => {
    const secret = `s3cret-${randomBytes(6).toString('hex')}`;
    registerSecret(secret);
    assert.equal(scrubText(`connecting with ${secret}!`), 'connecting with [redacted]!');
    assert.equal(scrubText('postgres://u:pw@h:5432/db'), 'postgres://u:[redacted]@h:5432/db');
    const lines: string[] = [];
    const logger = createLogger('debug', {}, (l) => lines.push(l));
    logger.info(`failed: ${secret}`, {
      url: 'redis://:abc123@127.0.0.1:6379',
      error: new Error(`auth ${secret}`),
      nested: { token: 'literal-token', deep: [`x${secret}x`] },
    });
    const line = lines.join('\n');
    assert.ok(!line.includes(secret), line);
    assert.ok(!line.includes('abc123'), line);
    assert.ok(!line.includes('literal-token'), line);
  });

  it('redacts a config for printing: secret-named fields, URL passwords; references stay', () => {
    assert.deepEqual(
      redactConfig({
        url: 'postgres://u:hunter2@h/db',
        pass: 'literal',
        sasl: { password: 'x', username: 'me' },
        token: { env: 'TOKEN_VAR' },
        max_key_bytes: 10,
      }),
      {
        url: 'postgres://u:[redacted]@h/db',
        pass: '[redacted]',
        sasl: { password: '[redacted]', username: 'me' },
        token: { env: 'TOKEN_VAR' },
        max_key_bytes: 10,
      },
    );
  });
});

describe('secrets in a full worker run', () => {
  const role = `prism_sec_${randomBytes(4).toString('hex')}`;
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const schema = role;
  const url = `postgres://${role}:${password}@127.0.0.1:${new URL(stackEnv.postgresUrl).port || 5432}/prism`;
  let admin: PgClient;

  before(async () => {
    admin = new PgClient(stackEnv.postgresUrl);
    await admin.connect();
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    await admin.query(`GRANT CREATE, CONNECT ON DATABASE prism TO ${role}`);
    process.env.PRISM_TEST_PG_URL = url;
  });

  after(async () => {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await admin.query(`DROP OWNED BY ${role}`).catch(() => undefined);
    await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    await admin.end();
  });

  const config = (taskQueue: string, url: unknown): Record<string, unknown> => {
    const base = testConfig(taskQueue, {
      backends: { db: { driver: 'postgres', config: { url, schema } } },
      patterns: { 'kv-probe': { slots: { store: 'db' }, activity: { retry: { maximum_attempts: 3 } } } },
    });
    return { ...base, logging: { level: 'debug' } };
  };

  it('the worker connects with a password from the environment; neither logs nor history show it', async () => {
    const taskQueue = uniqueName('security-secrets');
    const worker = await startWorker(config(taskQueue, { env: 'PRISM_TEST_PG_URL' }));
    const client = await PrismClient.connect({ taskQueue });
    let history = '';
    try {
      const started = await client.start('kvProbeWorkflow', [{ key: uniqueName('k'), value: 'v' }], {
        pattern: 'kv-probe',
      });
      assert.deepEqual(((await started.handle.result()) as { readBack: string }).readBack, 'v');
      history = JSON.stringify(await started.handle.fetchHistory(), (_k, v: unknown) =>
        v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v,
      );
      const { rows } = await admin.query(`SELECT count(*)::int AS n FROM ${schema}.kv`);
      assert.equal(rows[0].n, 1, 'the write went through the role the secret names');
    } finally {
      await client.close();
      assert.equal(await worker.stop(), 0);
    }
    const logs = worker.output();
    assert.match(logs, /backend connected/);
    assert.ok(logs.length > 200, 'the worker logged something');
    assert.ok(!logs.includes(password), 'the password is not in the logs');
    assert.ok(!history.includes(password), 'nor in the history');
    assert.ok(history.includes('kvProbeWorkflow'));
    process.stdout.write(`# searched ${logs.length} bytes of worker logs and ${history.length} of history\n`);
  });

  // The stack's Postgres trusts loopback connections (no password check) and the driver connects
  // lazily, so the failure here is a database that does not exist, met by the first activity. The
  // point: neither the logs nor the activity failure recorded in history echo the URL's secret.
  it('a failing connection from a file-referenced URL does not echo it in logs or history', async () => {
    const wrong = `wrong-${randomBytes(10).toString('hex')}`;
    const file = join(tempDir(), 'pg-url');
    writeFileSync(file, url.replace(password, wrong).replace(/\/prism$/, '/no_such_database') + '\n');
    const taskQueue = uniqueName('security-wrong');
    const base = config(taskQueue, { file });
    const worker = await startWorker({
      ...base,
      patterns: { 'kv-probe': { slots: { store: 'db' }, activity: { retry: { maximum_attempts: 1 } } } },
    });
    const client = await PrismClient.connect({ taskQueue });
    let history = '';
    try {
      const started = await client.start('kvProbeWorkflow', [{ key: 'k', value: 'v' }], { pattern: 'kv-probe' });
      await assert.rejects(started.handle.result());
      history = JSON.stringify(await started.handle.fetchHistory(), (_k, v: unknown) =>
        v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v,
      );
    } finally {
      await client.close();
      await worker.stop();
    }
    assert.match(history, /no_such_database/, 'the failure is recorded');
    assert.ok(!history.includes(wrong), 'the history does not hold the password');
    assert.ok(!worker.output().includes(wrong), 'nor do the logs');
  });

  it('a missing variable is named, and the worker exits 1', async () => {
    const { code, stderr } = await runProcess([
      WORKER_MAIN,
      '--config',
      writeConfig(config(uniqueName('security-missing'), { env: 'PRISM_TEST_NOT_SET_ANYWHERE' })),
    ]);
    assert.equal(code, 1);
    assert.match(stderr, /backends\.db\.config\.url: environment variable PRISM_TEST_NOT_SET_ANYWHERE is not set/);
  });

  it('`prism config dump` prints the config with secrets redacted', async () => {
    const file = writeConfig({
      ...config('dump', { env: 'PRISM_TEST_PG_URL' }),
      backends: {
        db: { driver: 'postgres', config: { url: { env: 'PRISM_TEST_PG_URL' } } },
        cache: { driver: 'redis', config: { url: 'redis://:literal-redis-pw@127.0.0.1:6379' } },
        bus: { driver: 'nats', config: { user: 'me', pass: 'literal-nats-pw' } },
      },
      codec: { server: { token: 'literal-codec-token' } },
    });
    const { code, stdout, stderr } = await runProcess([CLI_MAIN, 'config', 'dump', '--config', file]);
    assert.equal(code, 0, stderr);
    for (const s of ['literal-redis-pw', 'literal-nats-pw', 'literal-codec-token', password])
      assert.ok(!stdout.includes(s), `${s} redacted`);
    assert.match(stdout, /env: PRISM_TEST_PG_URL/);
    assert.match(stdout, /redis:\/\/:\[redacted\]@127\.0\.0\.1:6379/);
    assert.match(stdout, /pass: "?\[redacted\]"?/);
    assert.match(stdout, /shutdown_grace_time: 10000/, 'defaults and parsed values are shown');
  });
});
