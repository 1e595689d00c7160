// The CDC benchmark's raw baseline: a streaming logical-replication reader (pg-logical-replication,
// pgoutput, START_REPLICATION on an existing slot) producing with kafkajs, in a process of its own.
// Changes are buffered per transaction; whatever committed while a produce was in flight goes out
// in the next one (chunks of CHUNK messages, acks=all), and the slot is confirmed (standby status
// update) only once Kafka acknowledged everything up to that commit. No transforms, no guard, no
// durable state: the shortest path from the WAL to Kafka a Node program can take.
// With `records: 'prism'` the same loop sends records shaped as Prism's (a Debezium-style body with
// id, source, key, before and after, and the Kafka driver's message id header naming the event): the cost of
// the record itself, with none of Prism's code, so the bench can tell it from the pipeline's cost.
// bench/cases/cdc.ts forks this file (argv[2]: RawCdcConfig as JSON); it prints "ready" once
// replication started and stops when its IPC channel closes.
import { fork } from 'node:child_process';
import { Kafka, logLevel } from 'kafkajs';
import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';

export interface RawCdcConfig {
  postgresUrl: string;
  slot: string;
  publication: string;
  brokers: string[];
  topic: string;
  /** minimal (default): a short body, no headers; prism: records shaped as Prism's. */
  records?: 'minimal' | 'prism';
}

/** Messages per produce request: a request stays well under the broker's 1 MB batch limit. */
const CHUNK = 2000;
/** Bytes of values per produce request, for the larger records. */
const CHUNK_BYTES = 512 * 1024;

interface Out {
  key: string;
  value: string;
  headers?: Record<string, string>;
}

/** Splits a transaction's records into produce requests of at most CHUNK records and ~CHUNK_BYTES. */
function* chunks(batch: Out[]): Generator<Out[]> {
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < batch.length; i++) {
    bytes += batch[i]!.value.length;
    if (i - start + 1 >= CHUNK || bytes >= CHUNK_BYTES) {
      yield batch.slice(start, i + 1);
      start = i + 1;
      bytes = 0;
    }
  }
  if (start < batch.length) yield batch.slice(start);
}

type Row = Record<string, unknown>;

/** A change as Prism's CDC sends it: the same body fields and headers, built here by hand. */
function prismShaped(
  op: string,
  relation: { schema: string; name: string },
  key: Row,
  before: Row | null,
  after: Row | null,
  at: { lsn: string; txId: number | null; sequence: number; tsMs: number },
): Out {
  const id = `${at.lsn}:${at.sequence}`;
  const keyText = JSON.stringify(key);
  const source = { db: 'prism', schema: relation.schema, table: relation.name, lsn: at.lsn, txId: at.txId };
  const value = JSON.stringify({
    id,
    op,
    source: { ...source, sequence: at.sequence, ts_ms: at.tsMs },
    key,
    before,
    after,
    ts_ms: at.tsMs,
  });
  // No header of the pattern's own; the Kafka driver's message id header carries the event id.
  return { key: keyText, value, headers: { 'prism-message-id': id } };
}

async function child(config: RawCdcConfig): Promise<void> {
  const kafka = new Kafka({ clientId: 'bench-raw-cdc', brokers: config.brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const service = new LogicalReplicationService(
    { connectionString: config.postgresUrl },
    { acknowledge: { auto: false, timeoutSeconds: 10 } },
  );
  let transaction: Out[] = [];
  let committed: Out[] = [];
  let committedLsn: string | null = null;
  const prism = config.records === 'prism';
  let txn = { lsn: '0/0', txId: null as number | null, sequence: 0, tsMs: 0 };
  let sending = false;
  let failed = false;

  const pump = async (): Promise<void> => {
    if (sending) return;
    sending = true;
    try {
      while (committed.length > 0) {
        const batch = committed;
        const lsn = committedLsn!;
        committed = [];
        for (const messages of chunks(batch)) await producer.send({ topic: config.topic, acks: -1, messages });
        await service.acknowledge(lsn);
      }
    } catch (err) {
      failed = true;
      process.stderr.write(`raw cdc: ${(err as Error).message}\n`);
      process.exit(2);
    } finally {
      sending = false;
    }
  };

  service.on('data', (lsn: string, msg: Pgoutput.Message) => {
    if (prism) {
      switch (msg.tag) {
        case 'begin':
          txn = { lsn: msg.commitLsn ?? lsn, txId: msg.xid, sequence: 0, tsMs: Date.now() };
          return;
        case 'insert':
        case 'update': {
          const key = Object.fromEntries(msg.relation.keyColumns.map((c) => [c, msg.new[c] as unknown]));
          const op = msg.tag === 'insert' ? 'c' : 'u';
          transaction.push(
            prismShaped(op, msg.relation, key, msg.tag === 'update' ? msg.old : null, msg.new, {
              ...txn,
              sequence: txn.sequence++,
            }),
          );
          return;
        }
        case 'delete':
          transaction.push(
            prismShaped('d', msg.relation, msg.key ?? {}, msg.old ?? msg.key, null, {
              ...txn,
              sequence: txn.sequence++,
            }),
          );
          return;
        default:
          if (msg.tag !== 'commit') return;
      }
    }
    switch (msg.tag) {
      case 'insert':
      case 'update':
        transaction.push({
          key: JSON.stringify(msg.relation.keyColumns.map((c) => msg.new[c] as unknown)),
          value: JSON.stringify({
            op: msg.tag === 'insert' ? 'c' : 'u',
            after: msg.new,
            source: { schema: msg.relation.schema, table: msg.relation.name, lsn },
          }),
        });
        break;
      case 'delete':
        transaction.push({
          key: JSON.stringify(msg.key),
          value: JSON.stringify({
            op: 'd',
            before: msg.old ?? msg.key,
            source: { schema: msg.relation.schema, table: msg.relation.name, lsn },
          }),
        });
        break;
      case 'commit':
        committed.push(...transaction);
        transaction = [];
        committedLsn = msg.commitEndLsn ?? lsn;
        void pump();
        break;
      default:
        break;
    }
  });
  service.on('error', (err: Error) => {
    if (failed) return;
    process.stderr.write(`raw cdc: ${err.message}\n`);
    process.exit(2);
  });
  service.on('start', () => {
    process.send?.('ready');
  });
  process.once('disconnect', () => {
    void (async () => {
      while (sending || committed.length > 0) await new Promise((r) => setTimeout(r, 20));
      await service.destroy();
      await producer.disconnect();
      process.exit(0);
    })();
  });
  await service.subscribe(new PgoutputPlugin({ protoVersion: 1, publicationNames: [config.publication] }), config.slot);
}

export interface RawCdcProcess {
  pid: number;
  stop(): Promise<void>;
}

/** Forks the raw reader and waits until replication has started. */
export async function startRawCdc(config: RawCdcConfig): Promise<RawCdcProcess> {
  const proc = fork(__filename, [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  await Promise.race([
    new Promise<void>((r) => proc.once('message', () => r())),
    exited.then((code) => {
      throw new Error(`raw cdc reader exited before starting (${code})`);
    }),
  ]);
  return {
    pid: proc.pid!,
    async stop() {
      if (proc.connected) proc.disconnect();
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

if (require.main === module) {
  child(JSON.parse(process.argv[2]!) as RawCdcConfig).catch((err: unknown) => {
    process.stderr.write(`raw cdc: ${(err as Error).message}\n`);
    process.exit(2);
  });
}
