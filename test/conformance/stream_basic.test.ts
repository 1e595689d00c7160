// stream_basic: append/read round trips in order (binary, empty, large payloads, headers), reads
// after an offset and paging, waiting reads, consumer groups (start at the beginning, commit,
// committed, resume from the committed offset after a restart of the driver, independence of
// groups) and input limits. Written against the StreamBasic interface only: offsets are compared
// for equality, never interpreted. Each case uses streams and groups of its own; waits are bounded
// polls and no case asserts an upper time bound.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Headers, StreamRecord } from '../../src/drivers/capabilities';
import { hasCapability } from '../../src/drivers/driver';
import { DEFAULT_LIMITS } from '../../src/drivers/limits';
import { uniqueName } from '../helpers/env';
import { DRIVERS, forEachDriverWith, type DriverWith } from './harness';
import { assertBytes, assertDriverError, bytes, sleep } from './support';

type Stream = DriverWith<'stream_basic'>;

const EVENTUALLY_MS = 15_000;

const text = (value: Uint8Array): string => Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString();

/** Appends `count` records with payloads `${label}<i>`; returns their offsets in order. */
async function appendMany(s: Stream, stream: string, count: number, label = 'r'): Promise<string[]> {
  const offsets: string[] = [];
  for (let i = 0; i < count; i++) offsets.push((await s.append(stream, bytes(`${label}${i}`))).offset);
  return offsets;
}

/** Reads every record after `after`, `limit` at a time, until a read returns nothing. */
async function readAll(s: Stream, stream: string, after: string | null, limit?: number): Promise<StreamRecord[]> {
  const out: StreamRecord[] = [];
  let position = after;
  for (let page = 0; page < 10_000; page++) {
    const records = await s.read(stream, limit === undefined ? { after: position } : { after: position, limit });
    if (limit !== undefined) assert.ok(records.length <= limit, `read returned ${records.length} > limit ${limit}`);
    if (records.length === 0) return out;
    out.push(...records);
    position = records[records.length - 1]!.offset;
  }
  assert.fail('read did not reach the end of the stream');
}

/** readGroup until `count` records have arrived (fails after EVENTUALLY_MS). */
async function readGroupSome(
  s: Stream,
  stream: string,
  group: string,
  count: number,
  options: { consumer?: string; limit?: number } = {},
): Promise<StreamRecord[]> {
  const out: StreamRecord[] = [];
  const deadline = Date.now() + EVENTUALLY_MS;
  while (out.length < count) {
    const limit = options.limit ?? count - out.length;
    const records = await s.readGroup(stream, group, options.consumer ?? 'c1', { limit, waitMs: 250 });
    assert.ok(records.length <= limit, `readGroup returned ${records.length} > limit ${limit}`);
    out.push(...records);
    if (out.length < count && Date.now() > deadline) {
      assert.fail(`readGroup: ${out.length} of ${count} record(s) within ${EVENTUALLY_MS} ms`);
    }
  }
  return out;
}

const payloads = (records: StreamRecord[]): string[] => records.map((r) => text(r.payload));

/** A second, independent instance of the named driver (same config as the harness's). */
async function openInstance(name: string, label: string): Promise<Stream> {
  const entry = DRIVERS.find((d) => d.name === name);
  assert.ok(entry, `no driver named ${name}`);
  const instance = await entry.factory.create(entry.factory.configSchema.parse(entry.config()), {
    backend: `conformance-${name}-${label}`,
  });
  assert.ok(hasCapability(instance, 'stream_basic'), `${name} instance does not offer stream_basic`);
  return instance;
}

forEachDriverWith('stream_basic', (driver, name) => {
  it('appends and reads back in order: payloads (text, empty, every byte), headers, distinct offsets', async () => {
    const stream = uniqueName('st-roundtrip');
    const sent: [Uint8Array, Headers | undefined][] = [
      [bytes('first'), { 'content-type': 'text/plain', 'x-trace': 'abc-123', 'x-ünïcode': 'välue ✓' }],
      [new Uint8Array(0), undefined],
      [Uint8Array.from({ length: 256 }, (_, i) => i), { empty: '' }],
      [bytes('last'), {}],
    ];
    const offsets: string[] = [];
    for (const [payload, headers] of sent) {
      const { offset } = await driver().append(stream, payload, headers);
      assert.equal(typeof offset, 'string');
      assert.ok(offset.length > 0, 'offset is empty');
      offsets.push(offset);
    }
    assert.equal(new Set(offsets).size, offsets.length, 'offsets repeat');
    const records = await driver().read(stream, { after: null });
    assert.equal(records.length, sent.length);
    for (const [i, r] of records.entries()) {
      assert.equal(r.offset, offsets[i], `offset of record ${i}`);
      assertBytes(r.payload, sent[i]![0], `payload of record ${i}`);
      assert.deepEqual(r.headers, sent[i]![1] ?? {}, `headers of record ${i}`);
    }
    // Omitting `after` reads from the start as well.
    assert.deepEqual(
      (await driver().read(stream, {})).map((r) => r.offset),
      offsets,
    );
  });

  it('round-trips a 512 KiB record byte for byte', async () => {
    const stream = uniqueName('st-large');
    const payload = Uint8Array.from({ length: 512 * 1024 }, (_, i) => (i * 7 + (i >> 10)) & 0xff);
    const { offset } = await driver().append(stream, payload, { size: 'large' });
    const [record] = await driver().read(stream, { after: null, limit: 1 });
    assert.ok(record);
    assert.equal(record.offset, offset);
    assertBytes(record.payload, payload);
    assert.deepEqual(record.headers, { size: 'large' });
  });

  it('reads after an offset, honours limit, and pages through every record exactly once', async () => {
    const stream = uniqueName('st-after');
    const offsets = await appendMany(driver(), stream, 12);
    const tail = await driver().read(stream, { after: offsets[4] });
    assert.deepEqual(payloads(tail), ['r5', 'r6', 'r7', 'r8', 'r9', 'r10', 'r11'], 'records after the 5th');
    assert.deepEqual(
      tail.map((r) => r.offset),
      offsets.slice(5),
    );
    const two = await driver().read(stream, { after: offsets[0], limit: 2 });
    assert.deepEqual(payloads(two), ['r1', 'r2'], 'limit 2 after the first');
    assert.deepEqual(await driver().read(stream, { after: offsets[11] }), [], 'nothing after the last record');
    for (const limit of [1, 5, undefined]) {
      const all = await readAll(driver(), stream, null, limit);
      assert.deepEqual(
        payloads(all),
        offsets.map((_, i) => `r${i}`),
        `paging with limit ${limit}`,
      );
    }
  });

  it('a read with waitMs returns a record appended while it waits', async () => {
    const stream = uniqueName('st-wait');
    const [first] = await appendMany(driver(), stream, 1);
    const reading = driver().read(stream, { after: first, waitMs: 10_000 });
    await sleep(200);
    const { offset } = await driver().append(stream, bytes('late'));
    const records = await reading;
    assert.ok(records.length >= 1, 'the waiting read returned nothing');
    assert.equal(records[0]!.offset, offset);
    assert.equal(text(records[0]!.payload), 'late');
  });

  it('keeps streams apart', async () => {
    const a = uniqueName('st-apart-a');
    const b = uniqueName('st-apart-b');
    await appendMany(driver(), a, 3, 'a');
    await appendMany(driver(), b, 2, 'b');
    assert.deepEqual(payloads(await driver().read(a, { after: null })), ['a0', 'a1', 'a2']);
    assert.deepEqual(payloads(await driver().read(b, { after: null })), ['b0', 'b1']);
  });

  it('a new group starts at the beginning; commit and committed track its position', async () => {
    const stream = uniqueName('st-group');
    const group = uniqueName('g');
    const offsets = await appendMany(driver(), stream, 6);
    assert.equal(await driver().committed(stream, group), null, 'nothing committed yet');
    const firstTwo = await readGroupSome(driver(), stream, group, 2, { limit: 2 });
    assert.deepEqual(payloads(firstTwo), ['r0', 'r1']);
    assert.deepEqual(
      firstTwo.map((r) => r.offset),
      offsets.slice(0, 2),
    );
    await driver().commit(stream, group, firstTwo[1]!.offset);
    assert.equal(await driver().committed(stream, group), offsets[1]);
    await driver().commit(stream, group, firstTwo[1]!.offset); // committing again is harmless
    assert.equal(await driver().committed(stream, group), offsets[1]);
    const rest = await readGroupSome(driver(), stream, group, 4);
    assert.deepEqual(payloads(rest), ['r2', 'r3', 'r4', 'r5']);
    await driver().commit(stream, group, rest[3]!.offset);
    assert.equal(await driver().committed(stream, group), offsets[5]);
    // Records appended later are the group's next ones.
    const [late] = await appendMany(driver(), stream, 1, 'late');
    const next = await readGroupSome(driver(), stream, group, 1);
    assert.equal(next[0]!.offset, late);
    assert.equal(text(next[0]!.payload), 'late0');
  });

  it('a group resumes from its committed offset after the driver restarts', async () => {
    const stream = uniqueName('st-restart');
    const group = uniqueName('g');
    const offsets = await appendMany(driver(), stream, 5);
    const first = await openInstance(name, 'restart-1');
    try {
      const read = await readGroupSome(first, stream, group, 3, { limit: 3 });
      assert.deepEqual(payloads(read), ['r0', 'r1', 'r2']);
      // r2 was delivered but is not committed: after the restart the group gets it again.
      await first.commit(stream, group, read[1]!.offset);
    } finally {
      await first.close();
    }
    const second = await openInstance(name, 'restart-2');
    try {
      assert.equal(await second.committed(stream, group), offsets[1], 'committed offset survives the restart');
      const resumed = await readGroupSome(second, stream, group, 3);
      assert.deepEqual(payloads(resumed), ['r2', 'r3', 'r4'], 'resumes right after the committed offset');
      await second.commit(stream, group, resumed[2]!.offset);
      assert.equal(await second.committed(stream, group), offsets[4]);
    } finally {
      await second.close();
    }
    // The harness's instance sees the same committed position.
    assert.equal(await driver().committed(stream, group), offsets[4]);
  });

  it('groups are independent of each other and of plain reads', async () => {
    const stream = uniqueName('st-groups');
    const a = uniqueName('ga');
    const b = uniqueName('gb');
    const offsets = await appendMany(driver(), stream, 4);
    const fromA = await readGroupSome(driver(), stream, a, 4);
    assert.deepEqual(payloads(fromA), ['r0', 'r1', 'r2', 'r3']);
    await driver().commit(stream, a, fromA[3]!.offset);
    assert.equal(await driver().committed(stream, a), offsets[3]);
    assert.equal(await driver().committed(stream, b), null, 'group b has committed nothing');
    const fromB = await readGroupSome(driver(), stream, b, 2, { limit: 2 });
    assert.deepEqual(payloads(fromB), ['r0', 'r1'], 'group b starts at the beginning');
    await driver().commit(stream, b, fromB[0]!.offset);
    assert.equal(await driver().committed(stream, a), offsets[3], "b's commit leaves a alone");
    assert.equal(await driver().committed(stream, b), offsets[0]);
    // Group activity does not consume anything from plain reads.
    assert.deepEqual(payloads(await driver().read(stream, { after: null })), ['r0', 'r1', 'r2', 'r3']);
  });

  it('rejects bad payloads, oversized records, bad offsets and limits with typed errors', async () => {
    const stream = uniqueName('st-limits');
    await assertDriverError(
      () => driver().append(stream, 'not bytes' as unknown as Uint8Array),
      'InvalidArgument',
      'string payload',
    );
    await assertDriverError(
      () => driver().append(stream, new Uint8Array(DEFAULT_LIMITS.maxValueBytes + 1)),
      'ValueTooLarge',
      'oversized payload',
    );
    await assertDriverError(() => driver().append('', bytes('x')), 'InvalidArgument', 'append to ""');
    const [offset] = await appendMany(driver(), stream, 1);
    for (const limit of [0, -1, 1.5, Number.NaN]) {
      await assertDriverError(() => driver().read(stream, { after: null, limit }), 'InvalidArgument', `limit ${limit}`);
    }
    await assertDriverError(
      () => driver().read(stream, { after: 'not an offset' }),
      'InvalidArgument',
      'read after a bad offset',
    );
    await assertDriverError(
      () => driver().commit(stream, uniqueName('g'), 'not an offset'),
      'InvalidArgument',
      'commit of a bad offset',
    );
    // The rejected appends wrote nothing.
    const records = await driver().read(stream, { after: null });
    assert.deepEqual(
      records.map((r) => r.offset),
      [offset],
    );
  });
});
