// What a CDC record costs to build and encode, by shape, with nothing else running in the process:
// kafkajs's own record and record-batch encoders (the code a produce request runs, CRC32C included)
// over batches of the bench's rows, medians of interleaved rounds. The table in docs/cdc.md comes
// from it. Run: npm run --silent build && node dist/bench/cdc-record-cost.js
import { randomUUID } from 'node:crypto';

type Headers = Record<string, string>;
interface Shape {
  key: string;
  value: string;
  headers?: Headers;
}
interface Encoded {
  buffer: Buffer;
}
// kafkajs's encoders are not part of its typed API: the two used here, as they are called.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Record = require('kafkajs/src/protocol/recordBatch/record/v0') as (record: {
  offsetDelta: number;
  timestampDelta: number;
  key: string;
  value: Buffer;
  headers?: Headers;
}) => unknown;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch: (batch: { records: unknown[]; lastOffsetDelta: number }) => Promise<Encoded>;
};

const BATCH = 1000;
const ROUNDS = 400;
const WARM_UP = 50;
const TS = 1765000000000;

/** A row as the bench inserts it (id, name, amount, note), as pgoutput's text values. */
const row = (g: number) => ({ id: String(g), name: `name ${g}`, amount: (g * 1.5).toFixed(2), note: 'x'.repeat(40) });
const eventId = (g: number) => `0/1A2B3C4D:${g}`;
const source = (g: number) => ({
  db: 'prism',
  schema: 'public',
  table: 'bench_t',
  lsn: '0/1A2B3C4D',
  txId: 12345,
  sequence: g,
  ts_ms: TS,
});
/** Prism's body; secondTs: with the top-level ts_ms (the commit time again, as source.ts_ms). */
const body = (g: number, secondTs = true) => {
  const event = { id: eventId(g), op: 'c', source: source(g), key: { id: g }, before: null, after: row(g) };
  return JSON.stringify(secondTs ? { ...event, ts_ms: TS } : event);
};

const shapes: [string, (g: number) => Shape][] = [
  [
    "the bench's minimal raw record (short body, no headers)",
    (g) => ({
      key: JSON.stringify([g]),
      value: JSON.stringify({
        op: 'c',
        after: row(g),
        source: { schema: 'public', table: 'bench_t', lsn: '0/1A2B3C4D' },
      }),
    }),
  ],
  [
    'former record: body + cdc-id, cdc-key, cdc-op, cdc-table, random prism-message-id',
    (g) => {
      const key = JSON.stringify({ id: g });
      const headers = {
        'cdc-id': eventId(g),
        'cdc-key': key,
        'cdc-op': 'c',
        'cdc-table': 'public.bench_t',
        'prism-message-id': randomUUID(),
      };
      return { key, value: body(g), headers };
    },
  ],
  [
    'body + cdc-id + random prism-message-id',
    (g) => ({
      key: JSON.stringify({ id: g }),
      value: body(g),
      headers: { 'cdc-id': eventId(g), 'prism-message-id': randomUUID() },
    }),
  ],
  [
    'this record: body + prism-message-id = event id',
    (g) => ({ key: JSON.stringify({ id: g }), value: body(g), headers: { 'prism-message-id': eventId(g) } }),
  ],
  ['body alone', (g) => ({ key: JSON.stringify({ id: g }), value: body(g) })],
  [
    'body without the second ts_ms (+ two headers)',
    (g) => ({
      key: JSON.stringify({ id: g }),
      value: body(g, false),
      headers: { 'cdc-id': eventId(g), 'prism-message-id': randomUUID() },
    }),
  ],
];

/** Builds and encodes one batch; returns µs per record and bytes per record. */
async function once(shape: (g: number) => Shape): Promise<[number, number]> {
  const start = process.hrtime.bigint();
  const records: unknown[] = [];
  for (let i = 0; i < BATCH; i++) {
    const m = shape(i + 1);
    records.push(
      Record({ offsetDelta: i, timestampDelta: 0, key: m.key, value: Buffer.from(m.value), headers: m.headers }),
    );
  }
  const batch = await RecordBatch({ records, lastOffsetDelta: BATCH - 1 });
  return [Number(process.hrtime.bigint() - start) / 1e3 / BATCH, batch.buffer.length / BATCH];
}

async function main(): Promise<void> {
  const times = shapes.map((): number[] => []);
  const bytes = shapes.map(() => 0);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, [, shape]] of shapes.entries()) {
      const [us, size] = await once(shape);
      if (round >= WARM_UP) times[i]!.push(us);
      bytes[i] = size;
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
  process.stdout.write(`| record | bytes | µs per record |\n|---|---:|---:|\n`);
  for (const [i, [name]] of shapes.entries()) {
    process.stdout.write(`| ${name} | ${bytes[i]!.toFixed(0)} | ${median(times[i]!).toFixed(1)} |\n`);
  }
}

void main();
