// The CDC benchmark's raw baseline: a streaming logical-replication reader (pg-logical-replication,
// pgoutput, START_REPLICATION on an existing slot) producing with kafkajs, in a process of its own.
// Changes are buffered per transaction; whatever committed while a produce was in flight goes out
// in the next one (chunks of CHUNK messages, acks=all), and the slot is confirmed (standby status
// update) only once Kafka acknowledged everything up to that commit. No transforms, no guard, no
// durable state: the shortest path from the WAL to Kafka a Node program can take.
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
}

/** Messages per produce request: a request stays well under the broker's 1 MB batch limit. */
const CHUNK = 2000;

interface Out {
  key: string;
  value: string;
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
        for (let i = 0; i < batch.length; i += CHUNK) {
          await producer.send({ topic: config.topic, acks: -1, messages: batch.slice(i, i + CHUNK) });
        }
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
