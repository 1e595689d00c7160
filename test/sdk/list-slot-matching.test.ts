// List slots at start-up, without servers: the YAML list form, every element matched against the
// slot's capabilities, and each way a list can be wrong refused with the slot, the index and the
// reason; then the bindings a workflow receives (one per element, in config order).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { slotBindings } from '../../src/activities/resolve-slots';
import { loadConfig, parseConfig } from '../../src/config/load';
import { ConfigError } from '../../src/common/config-errors';
import { builtinDrivers } from '../../src/drivers/builtin';
import { builtinPatterns } from '../../src/patterns/builtin';
import { checkInstanceCapabilities, matchSlots } from '../../src/runtime/slot-matcher';
import { prepareSecurity } from '../../src/config/prepare-security';
import { definePattern, PatternRegistry } from '../../src/sdk/pattern';
import { stackEnv } from '../helpers/env';
import {
  isListSlot,
  LIST_SLOT_LIMIT,
  slot,
  type BoundSlots,
  type SlotBinding,
  type SlotSpec,
} from '../../src/sdk/slot';

const BACKENDS = `
backends:
  redis-a: { driver: redis, config: { url: redis://127.0.0.1:6379/1 } }
  redis-b: { driver: redis, config: { url: redis://127.0.0.1:6379/2 } }
  redis-c: { driver: redis, config: { url: redis://127.0.0.1:6379/3 } }
  pg: { driver: postgres, config: { url: postgres://u:p@127.0.0.1:5432/db } }
  nats-kv: { driver: nats, config: { servers: nats://127.0.0.1:4222 } }
  mem: { driver: memory }
`;

/** The session store's `shards` (1 to 64 of keyvalue basic+ttl+scan+cas) and a test pattern's. */
const testPattern = definePattern({
  name: 'list-test',
  slots: {
    replicas: slot.list(['keyvalue_basic'], { min: 2, max: 3 }),
    extras: slot.list(['keyvalue_basic'], { min: 0, max: 2 }),
    single: slot(['keyvalue_basic'], { optional: true }),
  },
  workflows: [],
});
const patterns = (): PatternRegistry => builtinPatterns().register(testPattern);

function check(patternsYaml: string): ReturnType<typeof matchSlots> {
  return matchSlots(parseConfig(`${BACKENDS}patterns:\n${patternsYaml}`), patterns(), builtinDrivers());
}

function problemsOf(patternsYaml: string): string[] {
  return check(patternsYaml).problems;
}

describe('list slots: matching a config', () => {
  it('a YAML list of backends binds every element, in order, with its index', () => {
    const { matches, problems } = check(`
  session-store:
    slots:
      shards: [redis-b, redis-a, pg]
`);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      matches.map((m) => [m.slot, m.index, m.backend, m.driver]),
      [
        ['shards', 0, 'redis-b', 'redis'],
        ['shards', 1, 'redis-a', 'redis'],
        ['shards', 2, 'pg', 'postgres'],
      ],
    );
  });

  it('the block form of a YAML list works the same', () => {
    const { matches, problems } = check(`
  session-store:
    slots:
      shards:
        - redis-a
        - redis-c
`);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      matches.map((m) => m.backend),
      ['redis-a', 'redis-c'],
    );
  });

  it('an element whose driver lacks a capability is named by slot and index', () => {
    const problems = problemsOf(`
  session-store:
    slots: { shards: [redis-a, nats-kv, redis-b] }
`);
    assert.deepEqual(problems, [
      'patterns.session-store.slots.shards[1]: backend "nats-kv" uses driver "nats", which lacks keyvalue_ttl, keyvalue_cas, changefeed ' +
        '(slot "shards" requires keyvalue_basic + keyvalue_ttl + keyvalue_scan + keyvalue_cas + changefeed)',
    ]);
  });

  it('a capability the driver has but not as configured (changefeed on a Redis Cluster) is refused at start-up', () => {
    const cluster = "  redis-cluster: { driver: redis, config: { nodes: ['127.0.0.1:17001', '127.0.0.1:17002'] } }\n";
    const problemsWithCluster = (patternsYaml: string): string[] =>
      matchSlots(parseConfig(`${BACKENDS}${cluster}patterns:\n${patternsYaml}`), patterns(), builtinDrivers()).problems;
    const problems = problemsWithCluster(`
  session-store:
    slots: { shards: [redis-a, redis-cluster] }
`);
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(
      problems[0],
      /^patterns\.session-store\.slots\.shards\[1\]: backend "redis-cluster" uses driver "redis", which lacks changefeed as configured \(slot "shards" requires .*changefeed/,
    );
    // The same cluster backend serves slots that do not need the feed.
    assert.deepEqual(
      problemsWithCluster(`
  kv-probe:
    slots: { store: redis-cluster }
`),
      [],
    );
  });

  it('every bad element is reported, not only the first', () => {
    const problems = problemsOf(`
  session-store:
    slots: { shards: [nowhere, nats-kv, redis-a] }
`);
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.match(
      problems[0],
      /^patterns\.session-store\.slots\.shards\[0\]: unknown backend "nowhere" \(backends: redis-a, /,
    );
    assert.match(problems[1], /^patterns\.session-store\.slots\.shards\[1\]: backend "nats-kv" .*lacks keyvalue_ttl/);
  });

  it('an empty list is refused', () => {
    assert.deepEqual(
      problemsOf(`
  session-store:
    slots: { shards: [] }
`),
      ['patterns.session-store.slots.shards: empty list, the slot needs at least 1'],
    );
  });

  it('fewer than the minimum is refused', () => {
    assert.deepEqual(
      problemsOf(`
  list-test:
    slots: { replicas: [redis-a] }
`),
      ['patterns.list-test.slots.replicas: 1 backend, the slot needs at least 2'],
    );
  });

  it('more than the maximum is refused', () => {
    assert.deepEqual(
      problemsOf(`
  list-test:
    slots: { replicas: [redis-a, redis-b, redis-c, mem] }
`),
      ['patterns.list-test.slots.replicas: 4 backends, the slot takes at most 3'],
    );
  });

  it('a backend listed twice is refused at its second place', () => {
    assert.deepEqual(
      problemsOf(`
  session-store:
    slots: { shards: [redis-a, redis-b, redis-a] }
`),
      ['patterns.session-store.slots.shards[2]: backend "redis-a" is already listed at [0]; each backend once'],
    );
  });

  it('a required list slot left out is refused, saying what it needs', () => {
    assert.deepEqual(
      problemsOf(`
  session-store:
    settings: { default_ttl_seconds: 60 }
`),
      [
        'patterns.session-store.slots.shards: required list slot is not bound ' +
          '(needs 1 to 64 backends, each with keyvalue_basic + keyvalue_ttl + keyvalue_scan + keyvalue_cas + changefeed)',
      ],
    );
  });

  it('a list slot with min 0 may be left out or given an empty list', () => {
    for (const extras of ['', ', extras: []']) {
      const { matches, problems } = check(`
  list-test:
    slots: { replicas: [redis-a, redis-b]${extras} }
`);
      assert.deepEqual(problems, []);
      assert.equal(matches.filter((m) => m.slot === 'extras').length, 0);
    }
  });

  it('a single backend name for a list slot is refused with the list form to write', () => {
    assert.deepEqual(
      problemsOf(`
  session-store:
    slots: { shards: redis-a }
`),
      [
        'patterns.session-store.slots.shards: a list slot takes a list of backends: write shards: [redis-a] ' +
          '(needs 1 to 64 backends, each with keyvalue_basic + keyvalue_ttl + keyvalue_scan + keyvalue_cas + changefeed)',
      ],
    );
  });

  it('a list for a single slot is refused', () => {
    assert.deepEqual(
      problemsOf(`
  list-test:
    slots: { replicas: [redis-a, redis-b], single: [redis-c] }
`),
      ['patterns.list-test.slots.single: the slot takes one backend, not a list (write single: <backend>)'],
    );
  });

  it('the old numbered shard slots are refused with the list to write instead', () => {
    assert.deepEqual(
      problemsOf(`
  session-store:
    slots: { shard_1: redis-b, shard_0: redis-a, shard_10: pg }
`),
      [
        'patterns.session-store.slots.shard_0: the pattern has no slots shard_0, shard_1, shard_10; ' +
          'several backends go in one list slot: write shards: [redis-a, redis-b, pg]',
        'patterns.session-store.slots.shards: required list slot is not bound ' +
          '(needs 1 to 64 backends, each with keyvalue_basic + keyvalue_ttl + keyvalue_scan + keyvalue_cas + changefeed)',
      ],
    );
  });

  it('an unknown slot that is not numbered keeps the plain message', () => {
    assert.deepEqual(
      problemsOf(`
  session-store:
    slots: { shards: [redis-a], shard: redis-b }
`),
      ['patterns.session-store.slots.shard: the pattern has no such slot (slots: shards)'],
    );
  });

  it('bad list values fail config validation naming the field', () => {
    const bad = (slots: string): string => {
      try {
        parseConfig(`${BACKENDS}patterns:\n  session-store:\n    slots: ${slots}\n`, 'x.yaml');
      } catch (err) {
        assert.ok(err instanceof ConfigError);
        return err.problems.join('\n');
      }
      assert.fail(`accepted ${slots}`);
    };
    assert.equal(
      bad('{ shards: [redis-a, Redis-B] }'),
      'patterns.session-store.slots.shards[1]: expected a lower-case name (letters, digits, - and _, up to 63 characters)',
    );
    assert.match(
      bad('{ shards: [[redis-a]] }'),
      /^patterns\.session-store\.slots\.shards: expected a backend name, or a list/,
    );
    assert.match(
      bad('{ shards: { a: redis-a } }'),
      /^patterns\.session-store\.slots\.shards: expected a backend name, or a list/,
    );
    assert.match(bad('{ shards: 7 }'), /^patterns\.session-store\.slots\.shards: expected a backend name, or a list/);
  });

  it('the demo config binds the session store shards as a list, and matches', () => {
    // The demo reads its Postgres URL from PRISM_POSTGRES_URL: resolved as the worker does.
    process.env.PRISM_POSTGRES_URL ??= stackEnv.postgresUrl;
    const { config: demo } = prepareSecurity(loadConfig(join(__dirname, '../../../config/demo.yaml')));
    const { matches, problems } = matchSlots(demo, builtinPatterns(), builtinDrivers());
    assert.deepEqual(problems, []);
    assert.deepEqual(
      matches.filter((m) => m.pattern === 'session-store').map((m) => `${m.slot}[${m.index}] ${m.backend}`),
      ['shards[0] redis-eu', 'shards[1] redis-us'],
    );
  });

  it('a server offering less than its driver declares is named by index too', () => {
    const problem = checkInstanceCapabilities(
      {
        pattern: 'session-store',
        slot: 'shards',
        index: 3,
        backend: 'old-redis',
        driver: 'redis',
        requires: ['keyvalue_basic', 'keyvalue_cas'],
      },
      new Set(['keyvalue_basic']),
    );
    assert.equal(
      problem,
      'patterns.session-store.slots.shards[3]: backend "old-redis" (driver redis) does not offer keyvalue_cas on this server',
    );
  });
});

describe('list slots: declaring and binding', () => {
  it('slot.list keeps its bounds; defaults are 1 to 64', () => {
    const spec = slot.list(['keyvalue_basic', 'keyvalue_ttl'], { description: 'd' });
    assert.deepEqual(spec, {
      requires: ['keyvalue_basic', 'keyvalue_ttl'],
      list: true,
      min: 1,
      max: 64,
      description: 'd',
    });
    assert.ok(isListSlot(spec));
    assert.ok(!isListSlot(slot(['keyvalue_basic'])));
  });

  it('slot.list refuses impossible bounds, naming them', () => {
    assert.throws(() => slot.list(['keyvalue_basic'], { min: -1 }), /min must be an integer ≥ 0 \(got -1\)/);
    assert.throws(() => slot.list(['keyvalue_basic'], { min: 3, max: 2 }), /max must be an integer from 3 \(min\)/);
    assert.throws(() => slot.list(['keyvalue_basic'], { min: 0, max: 0 }), /max must be an integer from 1/);
    assert.throws(
      () => slot.list(['keyvalue_basic'], { max: LIST_SLOT_LIMIT + 1 }),
      new RegExp(`to ${LIST_SLOT_LIMIT} \\(got ${LIST_SLOT_LIMIT + 1}\\)`),
    );
  });

  it('each element becomes a binding on its own backend task queue, in config order', () => {
    const config = parseConfig(`${BACKENDS}
temporal: { task_queue: tq }
patterns:
  list-test:
    slots: { replicas: [redis-c, redis-a], single: mem }
    slot_activity:
      replicas: { start_to_close_timeout: 5s }
`);
    const { matches, problems } = matchSlots(config, patterns(), builtinDrivers());
    assert.deepEqual(problems, []);
    const resolved = slotBindings(config, matches, new Map()).get('list-test')!;
    const replicas = resolved.replicas as SlotBinding[];
    assert.ok(Array.isArray(replicas));
    assert.deepEqual(
      replicas.map((b) => [b.slot, b.index, b.backend, b.taskQueue, b.activity.startToCloseTimeoutMs]),
      [
        ['replicas', 0, 'redis-c', 'tq.backend.redis-c', 5000],
        ['replicas', 1, 'redis-a', 'tq.backend.redis-a', 5000],
      ],
    );
    const single = resolved.single as SlotBinding;
    assert.equal(single.backend, 'mem');
    assert.equal(single.index, undefined);
    assert.equal(single.activity.startToCloseTimeoutMs, 30_000, 'the pattern-wide default, not the list override');
  });

  it('types a workflow sees: an array for a list slot, maybe undefined for an optional one', () => {
    const specs = testPattern.slots;
    const binding = { backend: 'b' } as SlotBinding;
    const bound: BoundSlots<typeof specs> = { replicas: [binding], extras: [], single: undefined };
    const first: SlotBinding | undefined = bound.replicas[0];
    // @ts-expect-error a list slot is not one binding
    const notOne: SlotBinding = bound.replicas;
    // @ts-expect-error an optional slot may be unbound
    const notSure: SlotBinding = bound.single;
    const spec: SlotSpec = specs.single;
    assert.ok(first && notOne && notSure === undefined && spec);
  });
});
