// The multicast baseline, in a process of its own so that its resident memory can be set beside
// the worker's: scan the registry's keys, read the records, keep the matching ones, publish the
// payload to each with the nats driver, LOOP_WIDTH in flight. bench/cases/multicast.ts forks this
// file and drives it over IPC; `loopProcess` is that side.
import { fork, type ChildProcess } from 'node:child_process';
import { identityPrefix, type RegistryDriver } from '../../src/activities/multicast-registry/registry-store';
import { builtinDrivers } from '../../src/drivers/builtin';
import type { PubSubBasic } from '../../src/drivers/capabilities';
import type { Driver } from '../../src/drivers/driver';

export const LOOP_WIDTH = 32;
const PAGE_SIZE = 1000;

interface Backend {
  driver: string;
  config: Record<string, unknown>;
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

async function createDriver<T>(backend: Backend): Promise<Driver & T> {
  const factory = builtinDrivers().get(backend.driver)!;
  return (await factory.create(factory.configSchema.parse(backend.config), {
    backend: `bench-${backend.driver}`,
  })) as Driver & T;
}

async function plainLoop(redis: RegistryDriver, pubsub: PubSubBasic, req: RunRequest): Promise<number> {
  const bytes = new TextEncoder().encode(req.payload);
  const decoder = new TextDecoder();
  let cursor: string | null = null;
  let sent = 0;
  do {
    const page = await redis.scan(identityPrefix(req.registryName), { cursor, limit: PAGE_SIZE });
    cursor = page.cursor;
    const values = redis.getMany
      ? await redis.getMany(page.keys)
      : await Promise.all(page.keys.map((k) => redis.get(k)));
    const identities: string[] = [];
    for (const v of values) {
      if (v === null) continue;
      const record = JSON.parse(decoder.decode(v)) as { identity: string; metadata: Record<string, unknown> };
      if (record.metadata[req.filterKey] === true) identities.push(record.identity);
    }
    let next = 0;
    await Promise.all(
      Array.from({ length: LOOP_WIDTH }, async () => {
        while (next < identities.length) {
          await pubsub.publish(req.topicPrefix + identities[next++], bytes, { 'content-type': 'text/plain' });
        }
      }),
    );
    sent += identities.length;
  } while (cursor !== null);
  return sent;
}

/** The child's side: connect, say ready, run each loop asked for, exit when the channel closes. */
async function child(): Promise<void> {
  const { registry, messaging } = JSON.parse(process.argv[2]) as { registry: Backend; messaging: Backend };
  const redis = await createDriver<RegistryDriver>(registry);
  const nats = await createDriver<PubSubBasic>(messaging);
  const send = (reply: Reply): void => void process.send!(reply);
  process.on('message', (req: RunRequest) => {
    const t = performance.now();
    plainLoop(redis, nats, req).then(
      (sent) => send({ type: 'done', id: req.id, sent, ms: performance.now() - t }),
      (err: unknown) => send({ type: 'error', message: (err as Error).message }),
    );
  });
  process.once('disconnect', () => {
    void Promise.all([redis.close(), nats.close()]).finally(() => process.exit(0));
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
export async function loopProcess(registry: Backend, messaging: Backend): Promise<LoopProcess> {
  const proc: ChildProcess = fork(__filename, [JSON.stringify({ registry, messaging })], { stdio: 'inherit' });
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
