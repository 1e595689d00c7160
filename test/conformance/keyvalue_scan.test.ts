// keyvalue_scan: cursor paging over a stable key set returns every key with the prefix exactly
// once, only those keys, never more than `limit` per page, whatever the page size. Across a
// server restart (Redis, on a private server) every key present throughout is still returned at
// least once: repeats are allowed there, gaps never.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KeyValueScan } from '../../src/drivers/capabilities';
import type { Driver } from '../../src/drivers/driver';
import { isDriverError } from '../../src/drivers/errors';
import { uniqueName } from '../helpers/env';
import { ExtraRedis } from '../helpers/extra-redis';
import { driverUnderTest, forEachDriverWith } from './harness';
import {
  assertDriverError,
  bytes,
  eventually,
  ifCapability,
  removeAll,
  sleep,
  withCapability,
  writeAll,
} from './support';

const KEY_COUNT = 2_500;
/** A scan of KEY_COUNT keys that needs more calls than this is not paging, it is looping. */
const MAX_PAGES = 20_000;

interface FullScan {
  keys: string[];
  pages: number;
}

async function scanAll(scanner: KeyValueScan, prefix: string, limit?: number): Promise<FullScan> {
  const keys: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page = await scanner.scan(prefix, limit === undefined ? { cursor } : { cursor, limit });
    pages += 1;
    assert.ok(Array.isArray(page.keys), 'page.keys is an array');
    if (limit !== undefined) assert.ok(page.keys.length <= limit, `page of ${page.keys.length} keys, limit ${limit}`);
    assert.ok(page.cursor === null || typeof page.cursor === 'string', 'cursor is a string or null');
    keys.push(...page.keys);
    cursor = page.cursor;
    assert.ok(pages <= MAX_PAGES, `scan did not finish within ${MAX_PAGES} pages`);
  } while (cursor !== null);
  return { keys, pages };
}

function assertExactly(actual: string[], expected: Iterable<string>, what: string): void {
  const unique = new Set(actual);
  assert.equal(unique.size, actual.length, `${what}: ${actual.length - unique.size} duplicate key(s)`);
  const want = new Set(expected);
  const extra = actual.filter((k) => !want.has(k));
  const missing = [...want].filter((k) => !unique.has(k));
  assert.deepEqual(extra, [], `${what}: keys outside the expected set`);
  assert.deepEqual(missing.slice(0, 10), [], `${what}: ${missing.length} key(s) missing`);
}

forEachDriverWith('keyvalue_scan', (driver) => {
  const base = `${uniqueName('kvs')}/`;
  const prefix = `${base}k/`;
  const expected = Array.from({ length: KEY_COUNT }, (_, i) => `${prefix}${String(i).padStart(5, '0')}`);
  // Neighbours that share all but the last characters of the prefix, or sort right next to it.
  const decoys = [`${base}k`, `${base}j/00001`, `${base}l/00001`, `${base}k0`, `${base}K/00001`, `${base}k./1`];
  const written: string[] = [];

  before(async () => {
    const entries = [...expected, ...decoys].map((key, i) => ({ key, value: bytes(String(i)) }));
    written.push(...entries.map((e) => e.key));
    await writeAll(driver(), entries);
  });

  for (const limit of [7, 100, 1_000, undefined]) {
    it(`pages through ${KEY_COUNT} keys with limit ${limit ?? '(default)'}: each key once, no others`, async () => {
      const { keys, pages } = await scanAll(driver(), prefix, limit);
      assertExactly(keys, expected, `limit ${limit}`);
      if (limit !== undefined) assert.ok(pages >= Math.ceil(KEY_COUNT / limit), 'honours the page size');
    });
  }

  it('with limit 1 every page has at most one key and the scan still completes', async () => {
    const small = `${base}one/`;
    const keys = Array.from({ length: 25 }, (_, i) => `${small}${i}`);
    written.push(...keys);
    await writeAll(
      driver(),
      keys.map((key) => ({ key, value: bytes('1') })),
    );
    const { keys: seen } = await scanAll(driver(), small, 1);
    assertExactly(seen, keys, 'limit 1');
  });

  it('returns nothing (and finishes) for a prefix no key has', async () => {
    const { keys } = await scanAll(driver(), `${base}nothing-here/`, 10);
    assert.deepEqual(keys, []);
  });

  it('treats glob, LIKE and regex characters in the prefix literally', async () => {
    const special = `${base}sp%_*?[x]\\.+^$(|)/`;
    const keys = Array.from({ length: 20 }, (_, i) => `${special}${i}`);
    const lookalikes = [`${base}spXX*?[x]\\.+^$(|)/0`, `${base}sp%_*?x\\.+^$(|)/0`, `${base}sp%_zz?[x]\\.+^$(|)/0`];
    written.push(...keys, ...lookalikes);
    await writeAll(
      driver(),
      [...keys, ...lookalikes].map((key) => ({ key, value: bytes('v') })),
    );
    const { keys: seen } = await scanAll(driver(), special, 6);
    assertExactly(seen, keys, 'special prefix');
  });

  it('does not return deleted keys', async () => {
    const gone = `${base}del/`;
    const keys = Array.from({ length: 200 }, (_, i) => `${gone}${String(i).padStart(3, '0')}`);
    written.push(...keys);
    await writeAll(
      driver(),
      keys.map((key) => ({ key, value: bytes('v') })),
    );
    const removed = keys.filter((_, i) => i % 3 === 0);
    await removeAll(driver(), removed);
    const { keys: seen } = await scanAll(driver(), gone, 17);
    assertExactly(
      seen,
      keys.filter((_, i) => i % 3 !== 0),
      'after deletes',
    );
  });

  it('does not return expired keys (when the driver has keyvalue_ttl)', async (t) => {
    const ttl = ifCapability(driver(), 'keyvalue_ttl');
    if (!ttl) {
      t.diagnostic('driver has no keyvalue_ttl: nothing to check');
      return;
    }
    const short = `${base}ttl/`;
    const keep = `${short}keep`;
    const expiring = Array.from({ length: 5 }, (_, i) => `${short}gone-${i}`);
    written.push(keep, ...expiring);
    await withCapability(driver(), 'keyvalue_basic').set(keep, bytes('v'));
    for (const key of expiring) await ttl.setWithTtl(key, bytes('v'), 0.2);
    await eventually(async () => {
      const { keys } = await scanAll(driver(), short, 2);
      return keys.length === 1 && keys[0] === keep;
    }, 'expired keys leave the scan');
  });

  it('rejects a limit that is not a positive integer with InvalidArgument', async () => {
    for (const limit of [0, -1, 1.5, Number.NaN]) {
      await assertDriverError(() => driver().scan(prefix, { limit }), 'InvalidArgument', `limit ${limit}`);
    }
  });

  // Last on purpose (cases run in order, and the harness closes the driver before any after hook).
  it('cleanup: after deleting everything the suite wrote, a scan of its prefix is empty', async () => {
    await removeAll(driver(), written);
    const { keys } = await scanAll(driver(), base, 1_000);
    assert.deepEqual(keys, []);
  });
});

describe('keyvalue_scan on redis across a server restart', () => {
  // A private Redis (append-only file on, so keys survive): its hash seed, and with it what a
  // SCAN cursor means, changes with every server process.
  const server = new ExtraRedis('kvs-restart', Number(process.env.PRISM_TEST_SCAN_REDIS_PORT ?? 16601));
  const prefix = `${uniqueName('kvs-restart')}/`;
  const expected = Array.from({ length: KEY_COUNT * 2 }, (_, i) => `${prefix}${String(i).padStart(5, '0')}`);
  let driver: Driver & KeyValueScan;

  before(async () => {
    server.up();
    const { factory } = driverUnderTest('redis');
    const config = factory.configSchema.parse({ url: server.url, connectTimeoutMs: 1000, commandTimeoutMs: 2000 });
    driver = (await factory.create(config, { backend: 'conformance-redis-restart' })) as Driver & KeyValueScan;
    await writeAll(
      driver,
      expected.map((key) => ({ key, value: bytes('v') })),
    );
  });

  after(async () => {
    await driver?.close();
    server.down();
  });

  /** One page; while the server is coming back, the same call again (what every caller does). */
  const pageAfterOutage = async (cursor: string | null): Promise<{ keys: string[]; cursor: string | null }> => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        return await driver.scan(prefix, { cursor, limit: 100 });
      } catch (err) {
        if (!isDriverError(err) || !err.retryable || Date.now() > deadline) throw err;
        await sleep(100);
      }
    }
  };

  it('returns every key present throughout at least once when the server restarts mid-scan', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 20; page += 1) {
      const next = await driver.scan(prefix, { cursor, limit: 100 });
      seen.push(...next.keys);
      cursor = next.cursor;
    }
    assert.ok(cursor !== null, 'the scan is still under way at the restart');
    server.restart();
    let pages = 0;
    while (cursor !== null) {
      const next = await pageAfterOutage(cursor);
      seen.push(...next.keys);
      cursor = next.cursor;
      pages += 1;
      assert.ok(pages <= MAX_PAGES, `scan did not finish within ${MAX_PAGES} pages`);
    }
    const want = new Set(expected);
    assert.deepEqual(
      seen.filter((k) => !want.has(k)),
      [],
      'keys outside the expected set',
    );
    const unique = new Set(seen);
    const missing = expected.filter((k) => !unique.has(k));
    assert.equal(missing.length, 0, `${missing.length} key(s) never returned, e.g. ${missing.slice(0, 5).join(', ')}`);
  });
});
