// Shared set-up for the session store's tests: regions as separate Redis databases of the stack's
// Redis (plus, for fault tests, a redis-server of their own).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import type { Client } from '@temporalio/client';
import { feedReplicationWorkflowId } from '../../../src/workflows/session-store/input';
import { stackEnv, uniqueName } from '../../helpers/env';

export function redisDb(db: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    driver: 'redis',
    config: { url: `${stackEnv.redisUrl}/${db}` },
    ...extra,
  };
}

/** Region a: two shards (db 1 and 2); region b: one shard (db 3). */
export const twoRegions = {
  regions: { a: ['a0', 'a1'], b: ['b0'] },
  backends: { a0: redisDb(1), a1: redisDb(2), b0: redisDb(3) },
};

/**
 * twoRegions under a key prefix of this run's own: its shards' change feeds (one per backend) and
 * scans then hold only this run's sessions, whoever else uses the same databases meanwhile.
 */
export function ownTwoRegions(prefix = uniqueName('sess')): typeof twoRegions {
  const db = (n: number) => ({
    driver: 'redis',
    config: { url: `${stackEnv.redisUrl}/${n}`, keyPrefix: `${prefix}:` },
  });
  return { regions: twoRegions.regions, backends: { a0: db(1), a1: db(2), b0: db(3) } };
}

/** Ends the long-lived replication workflows of a topology on a task queue (a test's clean-up). */
export async function stopFeedReplication(
  client: Client,
  taskQueue: string,
  regions: Record<string, string[]>,
): Promise<void> {
  for (const [region, shards] of Object.entries(regions)) {
    for (const shard of shards) {
      for (const target of Object.keys(regions)) {
        if (target === region) continue;
        await client.workflow
          .getHandle(feedReplicationWorkflowId(taskQueue, shard, target))
          .terminate('test over')
          .catch(() => undefined);
      }
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A redis-server of a test's own (so it can be killed without touching the shared stack). */
export class OwnRedis {
  private proc?: ChildProcess;
  readonly dir = mkdtempSync(join(tmpdir(), 'prism-session-redis-'));
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts it with an append-only file, so a restart keeps what was written before the stop. */
  async start(): Promise<void> {
    this.proc = spawn(
      'redis-server',
      ['--port', String(this.port), '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', this.dir],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
      probe.on('error', () => undefined); // refused while starting: expected
      const ok = await probe
        .connect()
        .then(() => probe.ping())
        .then(
          () => true,
          () => false,
        );
      probe.disconnect();
      if (ok) return;
      await sleep(100);
    }
    throw new Error(`redis-server on ${this.port} did not start`);
  }

  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  }
}
