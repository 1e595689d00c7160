// The Redis driver on a real Redis Cluster (scripts/cluster): keys on many slots, a slot migrated
// under the driver (ASK while it moves, MOVED after), and a primary killed with SIGKILL while
// operations run. Runs only when the loopback cluster is up; skips with the reason otherwise.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Redis from 'ioredis';
import type {
  KeyValueBasic,
  KeyValueBatch,
  KeyValueCas,
  KeyValueScan,
  LedgerBasic,
  QueueBasic,
} from '../../src/drivers/capabilities';
import type { DriverBase } from '../../src/drivers/driver';
import { DriverError } from '../../src/drivers/errors';
import { redisDriver } from '../../src/drivers/redis';
import { slotOf } from '../../src/drivers/redis/slots';
import { uniqueName } from '../helpers/env';

const ROOT = join(__dirname, '..', '..', '..');
const CLUSTER = join(ROOT, 'scripts/cluster');
const HOST = '127.0.0.1';

function clusterScript(...args: string[]): string {
  return execFileSync(CLUSTER, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The seed list `scripts/cluster env` prints, or why the suite cannot run. */
function clusterSeeds(): { nodes: string[] } | { skip: string } {
  try {
    clusterScript('status', 'redis');
  } catch {
    return { skip: 'the loopback Redis Cluster is not up (scripts/cluster up redis; see docs/cluster.md)' };
  }
  const line = /PRISM_REDIS_NODES=(\S+)/.exec(clusterScript('env'));
  if (!line) return { skip: 'scripts/cluster env printed no PRISM_REDIS_NODES' };
  return { nodes: line[1].split(',') };
}

interface ClusterNode {
  id: string;
  port: number;
  primary: boolean;
  failed: boolean;
  ranges: [number, number][];
}

/** CLUSTER NODES as one node sees it. */
async function topology(port: number): Promise<ClusterNode[]> {
  const conn = new Redis({ host: HOST, port, lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await conn.connect();
    const text = (await conn.call('CLUSTER', 'NODES')) as string;
    return text
      .trim()
      .split('\n')
      .map((line) => {
        const [id, address, flags, , , , , , ...slots] = line.split(' ');
        const ranges = slots
          .filter((s) => /^\d/.test(s))
          .map((s) => {
            const [a, b] = s.split('-').map(Number);
            return [a, b ?? a] as [number, number];
          });
        return {
          id,
          port: Number(address.split('@')[0].split(':')[1]),
          primary: flags.includes('master'),
          failed: flags.includes('fail'),
          ranges,
        };
      });
  } finally {
    conn.disconnect();
  }
}

function ownerOf(nodes: ClusterNode[], slot: number): ClusterNode {
  const owner = nodes.find((n) => n.primary && !n.failed && n.ranges.some(([a, b]) => slot >= a && slot <= b));
  assert.ok(owner, `no primary serves slot ${slot}`);
  return owner;
}

async function withNode<T>(port: number, use: (conn: Redis) => Promise<T>): Promise<T> {
  const conn = new Redis({ host: HOST, port, lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await conn.connect();
    return await use(conn);
  } finally {
    conn.disconnect();
  }
}

/** How many ASKING commands a node has served (INFO commandstats). */
async function askingCalls(port: number): Promise<number> {
  const info = await withNode(port, (c) => c.info('commandstats'));
  return Number(/cmdstat_asking:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

/**
 * Moves a slot between primaries the way redis-cli --cluster reshard does: IMPORTING/MIGRATING,
 * MIGRATE of its keys, then SETSLOT NODE on both. `during` runs while the keys have moved but the
 * slot is still MIGRATING on the source: the source answers ASK for them.
 */
async function migrateSlot(
  slot: number,
  from: ClusterNode,
  to: ClusterNode,
  during: () => Promise<void> = async () => {},
): Promise<void> {
  await withNode(to.port, (c) => c.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', from.id));
  await withNode(from.port, (c) => c.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', to.id));
  await withNode(from.port, async (c) => {
    const keys = (await c.callBuffer('CLUSTER', 'GETKEYSINSLOT', slot, 1000)) as Buffer[];
    if (keys.length > 0) await c.callBuffer('MIGRATE', HOST, to.port, '', 0, 5000, 'KEYS', ...keys);
  });
  await during();
  for (const node of [to, from]) {
    await withNode(node.port, (c) => c.call('CLUSTER', 'SETSLOT', slot, 'NODE', to.id));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const text = (value: Uint8Array | null): string | null => (value === null ? null : Buffer.from(value).toString());

type ClusterDriver = DriverBase & KeyValueBasic & KeyValueBatch & KeyValueCas & KeyValueScan & QueueBasic & LedgerBasic;
const RETAIN = { retentionMs: 3_600_000 };

const seeds = clusterSeeds();
const skip = 'skip' in seeds ? seeds.skip : false;

describe('redis driver on Redis Cluster', { skip }, () => {
  let driver: ClusterDriver | undefined;
  const seedPort = (): number => Number(('nodes' in seeds ? seeds.nodes[0] : '').split(':')[1]);

  before(async () => {
    if (!('nodes' in seeds)) return;
    const config = redisDriver.configSchema.parse({ nodes: seeds.nodes });
    driver = (await redisDriver.create(config, { backend: 'cluster-test' })) as ClusterDriver;
  });
  after(async () => {
    await driver?.close();
  });
  const kv = (): ClusterDriver => {
    if (!driver) throw new Error('driver not created');
    return driver;
  };

  it('batches, scans and scripts over keys on every primary', async () => {
    const prefix = `${uniqueName('slots')}:`;
    const keys = Array.from({ length: 60 }, (_, i) => `${prefix}${i}`);
    const nodes = await topology(seedPort());
    const owners = new Set(keys.map((k) => ownerOf(nodes, slotOf(k)).port));
    assert.equal(owners.size, 3, 'the keys spread over the three primaries');

    await kv().setMany(keys.map((key, i) => ({ key, value: Buffer.from(`v${i}`) })));
    const got = await kv().getMany([...keys, `${prefix}missing`]);
    assert.deepEqual(got.map(text), [...keys.map((_, i) => `v${i}`), null]);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await kv().scan(prefix, { cursor, limit: 7 });
      assert.ok(page.keys.length <= 7);
      seen.push(...page.keys);
      cursor = page.cursor;
    } while (cursor !== null);
    assert.deepEqual([...new Set(seen)].sort(), [...keys].sort(), 'the scan walks every primary');

    // CAS versions, queues and ledgers: multi-key scripts whose keys share the slot of their name.
    const awkward = `}${prefix}{odd}`; // a key whose own braces would make a copied tag empty
    const first = await kv().compareAndSet(awkward, Buffer.from('a'), null);
    assert.equal(first.ok, true);
    assert.equal((await kv().compareAndSet(awkward, Buffer.from('b'), first.version)).ok, true);
    assert.equal((await kv().compareAndSet(awkward, Buffer.from('c'), first.version)).ok, false);
    const queue = uniqueName('q');
    await kv().enqueue(queue, Buffer.from('job'));
    const [message] = await kv().receive(queue, { visibilityTimeoutMs: 30_000 });
    assert.equal(text(message.payload), 'job');
    await kv().ack(queue, message.receipt);
    assert.deepEqual(await kv().receive(queue, { visibilityTimeoutMs: 1 }), [], 'acked once and gone');
    assert.equal((await kv().applyChange(awkward, 'c1', { delta: 5, initial: 0, ...RETAIN })).now, 5);
    assert.equal((await kv().applyChange(awkward, 'c1', { delta: 5, initial: 0, ...RETAIN })).applied, false);

    assert.equal(await kv().deleteMany([...keys, awkward]), keys.length + 1);
    assert.deepEqual((await kv().getMany(keys.slice(0, 3))).map(text), [null, null, null]);
  });

  it('follows ASK while a slot migrates and MOVED after it moved', async () => {
    const key = uniqueName('moving');
    const slot = slotOf(key);
    await kv().set(key, Buffer.from('one'));
    const cas = await kv().getVersioned(key);
    assert.ok(cas);
    await kv().applyChange(key, 'before-move', { delta: 1, initial: 10, ...RETAIN });

    const nodes = await topology(seedPort());
    const from = ownerOf(nodes, slot);
    const to = nodes.find((n) => n.primary && !n.failed && n.port !== from.port) as ClusterNode;
    const askedBefore = await askingCalls(to.port);
    try {
      await migrateSlot(slot, from, to, async () => {
        // The driver still maps the slot to `from`, which answers ASK: the key lives on `to` now.
        assert.equal(text(await kv().get(key)), 'one');
        const moved = await kv().compareAndSet(key, Buffer.from('two'), cas.version);
        assert.equal(moved.ok, true, 'the version key travelled with the value');
      });
      assert.ok((await askingCalls(to.port)) > askedBefore, 'the driver sent ASKING to the importing node');
      // The slot now belongs to `to`; the driver's map still says `from`, which answers MOVED.
      assert.equal(text(await kv().get(key)), 'two');
      assert.equal(
        (await kv().applyChange(key, 'before-move', { delta: 1, ...RETAIN })).applied,
        false,
        'change ids moved too',
      );
      assert.equal((await kv().applyChange(key, 'after-move', { delta: 1, ...RETAIN })).now, 12);
    } finally {
      await migrateSlot(slot, to, from);
    }
    assert.equal(text(await kv().get(key)), 'two');
  });

  it('resumes after a primary is killed with SIGKILL', async (t) => {
    const key = uniqueName('failover');
    const slot = slotOf(key);
    const victim = ownerOf(await topology(seedPort()), slot);
    const other = uniqueName('elsewhere');
    await kv().set(key, Buffer.from('before'));

    const killedAt = Date.now();
    clusterScript('kill', `redis-${victim.port}`);
    try {
      const errors = new Map<string, number>();
      let resumedAt = 0;
      for (let i = 0; Date.now() - killedAt < 60_000; i += 1) {
        try {
          await kv().set(key, Buffer.from(`after-${i}`));
          assert.equal(text(await kv().get(key)), `after-${i}`);
          resumedAt = Date.now();
          break;
        } catch (err) {
          if (!(err instanceof DriverError)) throw err;
          assert.equal(err.retryable, true, `a failover error is retryable: ${err.message}`);
          errors.set(err.code, (errors.get(err.code) ?? 0) + 1);
          await sleep(100);
        }
      }
      assert.ok(resumedAt > 0, 'writes to the killed primary slot resumed within 60 s');
      t.diagnostic(
        `writes on the killed primary's slots resumed ${resumedAt - killedAt} ms after kill -9 ` +
          `(errors meanwhile: ${JSON.stringify(Object.fromEntries(errors))})`,
      );
      const promoted = ownerOf(await topology(seedPort() === victim.port ? seedPort() + 1 : seedPort()), slot);
      assert.notEqual(promoted.port, victim.port, 'a replica took the slot over');
      // The CAS clock, the version and the value live on the new primary together.
      const versioned = await kv().getVersioned(key);
      assert.ok(versioned);
      assert.equal((await kv().compareAndSet(key, Buffer.from('cas'), versioned.version)).ok, true);
      await kv().set(other, Buffer.from('x'));
      assert.equal(await kv().deleteMany([key, other]), 2);
    } finally {
      // The killed node comes back as a replica of its former replica.
      clusterScript('up', 'redis');
    }
  });
});
