// The multicast baseline, in a process of its own so that its resident memory can be set beside
// the worker's: raw ioredis SCAN (MATCH the registry's identity keys, COUNT PAGE_SIZE) + MGET of
// each page, the records parsed and filtered here, one @nats-io core publish per matching target
// and a single flush at the end. bench/cases/multicast.ts forks this file and drives it over IPC;
// `loopProcess` is that side. It reads the registry's real key layout (identityPrefix, JSON
// records) and publishes to the subjects Prism's nats driver would use (topicSubject), so the
// same independent subscriber counts both.
import { fork, type ChildProcess } from 'node:child_process';
import { connect } from '@nats-io/transport-node';
import Redis from 'ioredis';
import { identityPrefix } from '../../src/activities/multicast-registry/registry-store';
import { topicSubject } from '../../src/drivers/nats/names';

const PAGE_SIZE = 1000;

interface Config {
  redisUrl: string;
  natsUrl: string;
  subjectPrefix: string;
}
interface RunRequest {
  id: number;
  registryName: string;
  filterKey: string;
  topicPrefix: string;
  payload: string;
}
type Reply =
  { type: 'ready' } | { type: 'done'; id: number; sent: number; ms: number } | { type: 'error'; message: string };

/** Redis's MATCH glob, with the prefix's own glob characters escaped. */
const globOf = (prefix: string): string => prefix.replace(/[*?[\]\\]/g, '\\$&') + '*';

async function child(): Promise<void> {
  const config = JSON.parse(process.argv[2]!) as Config;
  const redis = new Redis(config.redisUrl);
  const nc = await connect({ servers: config.natsUrl });
  const send = (reply: Reply): void => void process.send!(reply);

  const run = async (req: RunRequest): Promise<number> => {
    const payload = new TextEncoder().encode(req.payload);
    let cursor = '0';
    let sent = 0;
    do {
      const [nextCursor, keys] = await redis.scan(
        cursor,
        'MATCH',
        globOf(identityPrefix(req.registryName)),
        'COUNT',
        PAGE_SIZE,
      );
      cursor = nextCursor;
      if (keys.length === 0) continue;
      for (const value of await redis.mget(keys)) {
        if (value === null) continue;
        const record = JSON.parse(value) as { identity: string; metadata: Record<string, unknown> };
        if (record.metadata[req.filterKey] !== true) continue;
        nc.publish(topicSubject(config.subjectPrefix, req.topicPrefix + record.identity), payload);
        sent++;
      }
    } while (cursor !== '0');
    await nc.flush();
    return sent;
  };

  process.on('message', (req: RunRequest) => {
    const t = performance.now();
    run(req).then(
      (sent) => send({ type: 'done', id: req.id, sent, ms: performance.now() - t }),
      (err: unknown) => send({ type: 'error', message: (err as Error).message }),
    );
  });
  process.once('disconnect', () => {
    redis.disconnect();
    void nc.close().finally(() => process.exit(0));
  });
  send({ type: 'ready' });
}

export interface LoopProcess {
  pid: number;
  /** Runs the loop once in the child; resolves with the targets published and the wall time. */
  run(req: Omit<RunRequest, 'id'>): Promise<{ sent: number; ms: number }>;
  close(): Promise<void>;
}

/** Forks the baseline process and waits until its clients are connected. */
export async function loopProcess(config: Config): Promise<LoopProcess> {
  const proc: ChildProcess = fork(__filename, [JSON.stringify(config)], { stdio: 'inherit' });
  const exited = new Promise((r) => proc.once('exit', r));
  const waiting = new Map<number, { resolve: (r: { sent: number; ms: number }) => void; reject: (e: Error) => void }>();
  let ready!: () => void;
  let failed!: (e: Error) => void;
  const started = new Promise<void>((res, rej) => ((ready = res), (failed = rej)));
  proc.on('message', (reply: Reply) => {
    if (reply.type === 'ready') ready();
    else if (reply.type === 'done') waiting.get(reply.id)?.resolve(reply);
    else for (const w of waiting.values()) w.reject(new Error(`multicast loop: ${reply.message}`));
  });
  proc.once('exit', (code) => {
    const err = new Error(`multicast loop process exited (${code})`);
    failed(err);
    for (const w of waiting.values()) w.reject(err);
  });
  await started;
  let nextId = 0;
  return {
    pid: proc.pid!,
    run(req) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        proc.send({ ...req, id });
      }).finally(() => waiting.delete(id)) as Promise<{ sent: number; ms: number }>;
    },
    async close() {
      if (proc.connected) proc.disconnect();
      await exited;
    },
  };
}

if (require.main === module) void child();
