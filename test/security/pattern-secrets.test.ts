// Secret references in pattern settings: `patterns.<p>.settings` takes `{ env }` / `{ file }` at any
// depth, like a backend's `config:`. Tested with a pattern of its own (no built-in's settings), so
// the mechanism holds for any pattern: the worker hands the resolved value to the pattern, a missing
// variable stops it with the field named, and `prism config dump` shows references, not values.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { ConfigError } from '../../src/common/config-errors';
import { builtinDrivers } from '../../src/drivers/builtin';
import { builtinPatterns } from '../../src/patterns/builtin';
import { matchSlots } from '../../src/runtime/slot-matcher';
import { loadConfig, parseConfig } from '../../src/config/load';
import { createLogger } from '../../src/observability/logger';
import { PrismWorker } from '../../src/runtime/prism-worker';
import { definePattern, PatternRegistry } from '../../src/sdk/pattern';
import { slot } from '../../src/sdk/slot';
import { prepareSecurity } from '../../src/config/prepare-security';
import { scrubText } from '../../src/common/secret-registry';
import { isSecretFieldName, isSecretRef } from '../../src/security/secrets';
import { stringify } from 'yaml';
import { stackEnv, uniqueName } from '../helpers/env';
import { runProcess, testConfig, writeConfig } from '../helpers/worker-process';
import { CLI_MAIN, tempDir } from './helpers';

const settingsSchema = z.strictObject({
  endpoint: z.string().url(),
  auth: z.strictObject({ token: z.string().min(1) }),
  replicas: z.array(z.strictObject({ url: z.string() })).default([]),
});
type ProbeSettings = z.output<typeof settingsSchema>;

/** A pattern that only records the settings its slot activities are built with. */
function recordingPattern(seen: ProbeSettings[]) {
  return definePattern({
    name: 'secret-probe',
    slots: { store: slot(['keyvalue_basic']) },
    workflows: [],
    settingsSchema,
    slotActivities: {
      store: (_driver, context) => {
        seen.push(context.settings);
        return {};
      },
    },
  });
}

function probeConfig(taskQueue: string, settings: Record<string, unknown>) {
  return parseConfig(
    stringify(
      testConfig(taskQueue, {
        backends: { mem: { driver: 'memory' } },
        patterns: { 'secret-probe': { slots: { store: 'mem' }, settings } },
      }),
    ),
  );
}

describe('secret references in pattern settings', () => {
  it('are resolved at any depth; everything else is left as written', () => {
    const token = `tok-${randomBytes(8).toString('hex')}`;
    const file = join(tempDir(), 'replica-url');
    writeFileSync(file, 'postgres://u:from-file@db/x\n');
    const variable = `PRISM_TEST_PROBE_TOKEN_${process.pid}`;
    process.env[variable] = token;
    try {
      const config = probeConfig('q', {
        endpoint: 'https://api.example.com',
        auth: { token: { env: variable } },
        replicas: [{ url: { file } }, { url: 'plain' }],
      });
      const { config: resolved } = prepareSecurity(config);
      assert.deepEqual(resolved.patterns['secret-probe']!.settings, {
        endpoint: 'https://api.example.com',
        auth: { token },
        replicas: [{ url: 'postgres://u:from-file@db/x' }, { url: 'plain' }],
      });
      assert.deepEqual(config.patterns['secret-probe']!.settings.auth, { token: { env: variable } }, 'input untouched');
      assert.equal(scrubText(`sent ${token}`), 'sent [redacted]', 'a resolved value is scrubbed from text');
    } finally {
      delete process.env[variable];
    }
  });

  it('a missing variable or file is a config error naming every field path, never a value', () => {
    const config = probeConfig('q', {
      endpoint: 'https://api.example.com',
      auth: { token: { env: 'PRISM_TEST_PROBE_NOT_SET_ANYWHERE' } },
      replicas: [{ url: { file: '/nonexistent/prism/secret' } }],
    });
    assert.throws(
      () => prepareSecurity(config, 'probe.yaml'),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, String(err));
        assert.equal(err.file, 'probe.yaml');
        assert.deepEqual(err.problems, [
          'patterns.secret-probe.settings.auth.token: environment variable PRISM_TEST_PROBE_NOT_SET_ANYWHERE is not set',
          'patterns.secret-probe.settings.replicas[0].url: cannot read secret file /nonexistent/prism/secret: ENOENT',
        ]);
        return true;
      },
    );
  });

  it('the worker builds the pattern with the resolved values, and refuses to start without them', async () => {
    const token = `tok-${randomBytes(8).toString('hex')}`;
    const variable = `PRISM_TEST_PROBE_WORKER_${process.pid}`;
    const seen: ProbeSettings[] = [];
    const patterns = new PatternRegistry().register(recordingPattern(seen));
    const lines: string[] = [];
    const logger = createLogger('debug', {}, (line) => lines.push(line));
    const settings = { endpoint: 'https://api.example.com', auth: { token: { env: variable } } };

    await assert.rejects(
      PrismWorker.create({ config: probeConfig(uniqueName('probe'), settings), patterns, logger }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, String(err));
        assert.match(
          err.message,
          new RegExp(`patterns\\.secret-probe\\.settings\\.auth\\.token: environment variable ${variable} is not set`),
        );
        return true;
      },
    );
    assert.deepEqual(seen, [], 'no pattern activity was built');

    process.env[variable] = token;
    try {
      const worker = await PrismWorker.create({ config: probeConfig(uniqueName('probe'), settings), patterns, logger });
      const done = worker.run();
      worker.shutdown();
      assert.equal(await done, 0);
    } finally {
      delete process.env[variable];
    }
    assert.deepEqual(seen, [{ endpoint: 'https://api.example.com', auth: { token }, replicas: [] }]);
    assert.ok(lines.length > 0, 'the worker logged');
    assert.ok(!lines.join('\n').includes(token), 'the resolved value is in no log line');
  });

  it('`prism config dump` shows references in settings and redacts literal credentials there', async () => {
    const file = writeConfig({
      ...testConfig('dump', {
        backends: { mem: { driver: 'memory' } },
        patterns: {
          'secret-probe': {
            slots: { store: 'mem' },
            settings: {
              sourceUrl: { env: 'PRISM_TEST_PROBE_URL' },
              apiToken: 'literal-settings-token',
              mirror: 'postgres://u:literal-url-pw@db:5432/x',
            },
          },
        },
      }),
    });
    const { code, stdout, stderr } = await runProcess([CLI_MAIN, 'config', 'dump', '--config', file]);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /sourceUrl:\s*\n\s*env: PRISM_TEST_PROBE_URL/);
    assert.ok(!stdout.includes('literal-settings-token'), stdout);
    assert.ok(!stdout.includes('literal-url-pw'), stdout);
    assert.match(stdout, /postgres:\/\/u:\[redacted\]@db:5432\/x/);
  });
});

describe('the shipped configs', () => {
  const ROOT = join(__dirname, '../../..');
  const files = [
    'config/demo.yaml',
    'config/production.example.yaml',
    'examples/cluster/prism.yaml',
    ...readdirSync(join(ROOT, 'examples'))
      .map((dir) => `examples/${dir}/worker.yaml`)
      .filter((file) => existsSync(join(ROOT, file))),
  ];

  /** Every literal credential in a value: URL passwords and secret-named fields, by field path. */
  function literalCredentials(value: unknown, path: string): string[] {
    if (typeof value === 'string') return /:\/\/[^:/?#@\s]*:[^@/?#\s]+@/.test(value) ? [path] : [];
    if (value === null || typeof value !== 'object' || isSecretRef(value)) return [];
    return Object.entries(value).flatMap(([k, v]) =>
      isSecretFieldName(k) && typeof v === 'string' ? [`${path}.${k}`] : literalCredentials(v, `${path}.${k}`),
    );
  }

  it('hold no literal credential: URLs with passwords come from references', () => {
    assert.ok(files.length >= 4, `found ${files.join(', ')}`);
    for (const file of files) {
      const config = loadConfig(join(ROOT, file));
      assert.deepEqual(literalCredentials(config, file), [], `${file} carries a credential literally`);
    }
  });

  it('the demo and the example workers are valid once PRISM_POSTGRES_URL is set, as scripts/stack env sets it', () => {
    const before = process.env.PRISM_POSTGRES_URL;
    process.env.PRISM_POSTGRES_URL = stackEnv.postgresUrl;
    try {
      for (const file of files.filter((f) => !f.includes('production'))) {
        const { config } = prepareSecurity(loadConfig(join(ROOT, file)), file);
        assert.deepEqual(matchSlots(config, builtinPatterns(), builtinDrivers()).problems, [], file);
      }
    } finally {
      if (before === undefined) delete process.env.PRISM_POSTGRES_URL;
      else process.env.PRISM_POSTGRES_URL = before;
    }
  });
});
