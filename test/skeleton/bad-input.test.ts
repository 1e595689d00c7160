// Bad config files and bad CLI arguments: a clear message naming the field or the argument,
// a non-zero exit, never a stack trace.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stackEnv } from '../helpers/env';
import { DIST_ROOT, runProcess, WORKER_MAIN, writeConfig } from '../helpers/worker-process';

const CLI = join(DIST_ROOT, 'src/cli/main.js');

const goodBackend = { driver: 'redis', config: { url: stackEnv.redisUrl } };

const badConfigs: { name: string; config: unknown; expect: RegExp }[] = [
  { name: 'not YAML', config: 'backends: [unclosed', expect: /not valid YAML/ },
  { name: 'not a mapping', config: '- a\n- b\n', expect: /\(top level\): expected a mapping/ },
  { name: 'missing backends', config: { patterns: {} }, expect: /backends: / },
  {
    name: 'wrong type',
    config: { backends: { cache: goodBackend }, patterns: {}, worker: { http_port: 'eighty' } },
    expect: /worker\.http_port: .*number/,
  },
  {
    name: 'unknown driver',
    config: { backends: { cache: { driver: 'mongo' } }, patterns: {} },
    expect: /backends\.cache\.driver: unknown driver "mongo"/,
  },
  {
    name: 'bad duration',
    config: { backends: { cache: goodBackend }, patterns: {}, worker: { shutdown_grace_time: 'soon' } },
    expect: /worker\.shutdown_grace_time: expected a duration/,
  },
  {
    name: 'unknown field',
    config: { backends: { cache: goodBackend }, patterns: {}, wrker: {} },
    expect: /wrker/,
  },
  {
    name: 'slot bound to a driver without the capability',
    config: { backends: { stream: { driver: 'kafka' } }, patterns: { 'kv-probe': { slots: { store: 'stream' } } } },
    expect: /patterns\.kv-probe\.slots\.store: backend "stream" uses driver "kafka", which lacks keyvalue_basic/,
  },
  {
    name: 'required slot left unbound',
    config: { backends: { cache: goodBackend }, patterns: { 'kv-probe': { slots: {} } } },
    expect: /patterns\.kv-probe\.slots\.store: required slot is not bound/,
  },
  {
    name: 'unknown pattern',
    config: { backends: { cache: goodBackend }, patterns: { 'no-such': {} } },
    expect: /patterns\.no-such: unknown pattern/,
  },
  {
    name: 'bad driver config',
    config: { backends: { cache: { driver: 'redis', config: { url: 42 } } }, patterns: {} },
    expect: /backends\.cache\.config\.url: /,
  },
];

describe('bad worker config', () => {
  for (const { name, config, expect } of badConfigs) {
    it(`${name}: refused with the field named, exit 1`, async () => {
      const file = writeConfig(config);
      const { code, stderr } = await runProcess([WORKER_MAIN, '--config', file]);
      assert.equal(code, 1, stderr);
      assert.match(stderr, new RegExp(file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      assert.match(stderr, expect);
      assert.doesNotMatch(stderr, /\n\s+at .*\.js:\d+/, 'no stack trace');
    });
  }

  it('a missing file is named', async () => {
    const { code, stderr } = await runProcess([WORKER_MAIN, '--config', '/nonexistent/prism.yaml']);
    assert.equal(code, 1);
    assert.match(stderr, /\/nonexistent\/prism\.yaml.*cannot read the file: ENOENT/s);
  });
});

const badCli: { args: string[]; expect: RegExp }[] = [
  { args: [], expect: /Usage: prism/ },
  { args: ['launch'], expect: /unknown command 'launch'/ },
  { args: ['start'], expect: /missing required argument 'workflow'/ },
  { args: ['start', 'noSuchWorkflow'], expect: /unknown workflow "noSuchWorkflow"/ },
  { args: ['start', 'kvProbeWorkflow', '--input', '{bad'], expect: /--input: not valid JSON/ },
  {
    args: ['start', 'kvProbeWorkflow', '--input', '@/nonexistent.json'],
    expect: /--input: cannot read \/nonexistent\.json: ENOENT/,
  },
  { args: ['start', 'kvProbeWorkflow', '--bogus'], expect: /unknown option '--bogus'/ },
  { args: ['describe'], expect: /missing required argument 'workflow-id'/ },
];

describe('bad CLI arguments', () => {
  for (const { args, expect } of badCli) {
    it(`prism ${args.join(' ') || '(nothing)'}: usage and exit 2`, async () => {
      const { code, stdout, stderr } = await runProcess([CLI, ...args]);
      assert.equal(code, 2, stdout + stderr);
      assert.match(stdout + stderr, expect);
      assert.match(stdout + stderr, /usage:/i);
      assert.doesNotMatch(stderr, /\n\s+at .*\.js:\d+/, 'no stack trace');
    });
  }
});
