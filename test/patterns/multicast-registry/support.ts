// Shared by the multicast test files: a worker with a client and a direct registry driver, a
// populated registry, the report check, and waiting for a multicast to be well under way.
import assert from 'node:assert/strict';
import { PrismClient } from '../../../src/client/prism-client';
import type { MulticastRegistryClient } from '../../../src/client/multicast-registry';
import { uniqueName } from '../../helpers/env';
import { startWorker, type WorkerProcess } from '../../helpers/worker-process';
import type { DeliveredPage, MulticastReport, TargetReport } from '../../../src/workflows/multicast-registry/input';
import { workerConfig, type Stack } from './stacks';

/** Registers `matching` identities that match { group: 'a' } and a few that do not. */
export async function populate(registry: MulticastRegistryClient, matching: number): Promise<string[]> {
  const ids = Array.from({ length: matching }, (_, i) => `t-${String(i).padStart(5, '0')}`);
  const others = Array.from({ length: Math.max(3, Math.floor(matching / 10)) }, (_, i) => `x-${i}`);
  const all = [...ids.map((id) => [id, 'a'] as const), ...others.map((id) => [id, 'b'] as const)];
  for (let i = 0; i < all.length; i += 200) {
    await Promise.all(
      all.slice(i, i + 200).map(([id, group]) => registry.register(id, { group, n: id.length }, { ttlSeconds: 600 })),
    );
  }
  return ids;
}

/**
 * Every target the report accounts for, as a reader gets them page by page (a paged multicast's
 * delivered targets come from its report rows in the registry), repeats included.
 */
export async function reportedTargets(
  registry: MulticastRegistryClient,
  report: MulticastReport,
): Promise<TargetReport[]> {
  const targets = [...report.statuses];
  if (report.reportId === undefined) return targets;
  let cursor: string | null = null;
  do {
    const page: DeliveredPage = await registry.deliveredTargets(report, { cursor });
    targets.push(...page.targets);
    cursor = page.cursor;
  } while (cursor !== null);
  return targets;
}

export async function assertReportCovers(
  registry: MulticastRegistryClient,
  report: MulticastReport,
  expected: string[],
): Promise<void> {
  assert.equal(report.done, true);
  assert.equal(report.targetCount, expected.length);
  assert.equal(
    report.delivered,
    expected.length,
    JSON.stringify(report.statuses.filter((s) => s.status !== 'delivered')),
  );
  assert.equal(report.failed, 0);
  assert.equal(report.pending, 0);
  const targets = await reportedTargets(registry, report);
  assert.deepEqual(targets.map((s) => s.identity).sort(), expected, 'each target reported once');
  assert.ok(targets.every((s) => s.status === 'delivered' && s.attempts >= 1));
}

/**
 * The claim marks a multicast left in the registry's keyspace, as a scan of the registry's marks
 * walks them: one key per multicast where the backend keeps maps (keyvalue_hash), one per target
 * otherwise. Asserts which, and returns the keys.
 */
export async function assertMarkKeys(
  driver: StackDriver,
  registry: string,
  multicasts: number,
  targets: number,
): Promise<string[]> {
  const prefix = `mcr/${registry}/sent/`;
  const keys = new Set<string>();
  let cursor: string | null = null;
  do {
    const page = await driver.scan(prefix, { cursor, limit: 1000 });
    page.keys.forEach((key) => keys.add(key));
    cursor = page.cursor;
  } while (cursor !== null);
  if (driver.capabilities.has('keyvalue_hash')) {
    assert.equal(keys.size, multicasts, `one key of marks per multicast: ${[...keys].slice(0, 5).join(', ')}`);
  } else {
    assert.equal(keys.size, targets, 'one key of marks per target (the backend keeps no maps)');
  }
  return [...keys];
}

export async function waitForProgress(report: () => Promise<MulticastReport>, stack: Stack): Promise<MulticastReport> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const r = await report().catch(() => undefined);
    // A fifth of the way in: well inside the fan-out, with deliveries on both sides of the kill.
    if (r && (r.delivered >= Math.max(1, stack.targets / 5) || r.done)) return r;
    await new Promise((res) => setTimeout(res, stack.targets > 100 ? 20 : 5));
  }
  throw new Error('the multicast made no progress');
}

type StackDriver = Awaited<ReturnType<Stack['registryDriver']>>;

/** A worker for `stack` on a task queue of its own, a client on it, and a direct registry driver. */
export class StackWorker<D extends StackDriver = StackDriver> {
  private started: { driver: D; worker: WorkerProcess; prism: PrismClient } | undefined;

  constructor(
    private readonly stack: Stack,
    private readonly queuePrefix: string,
    private readonly options: { durability?: boolean } = {},
  ) {}

  async start(): Promise<void> {
    const taskQueue = uniqueName(this.queuePrefix);
    const driver = (await this.stack.registryDriver()) as D;
    const worker = await startWorker(workerConfig(taskQueue, this.stack, {}, this.options));
    this.started = { driver, worker, prism: await PrismClient.connect({ taskQueue }) };
  }

  private get running(): { driver: D; worker: WorkerProcess; prism: PrismClient } {
    if (!this.started) throw new Error('StackWorker: start() first');
    return this.started;
  }

  get driver(): D {
    return this.running.driver;
  }

  get prism(): PrismClient {
    return this.running.prism;
  }

  async stop(): Promise<void> {
    await this.started?.prism.close();
    await this.started?.worker.stop();
    await this.started?.driver.close();
  }
}
