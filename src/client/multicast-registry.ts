// The multicast registry's typed client.
//
// Registry operations (register, heartbeat, unregister, enumerate) are small, frequent, and read
// or write one backend: the client runs them
//   - directly against the registry backend when given a handle on it (`direct`, opened with a
//     BackendPool, so every call goes through the backend's breaker, bulkhead and metrics): one
//     or two backend round trips, no Temporal history — the path for services that heartbeat
//     every few seconds;
//   - otherwise as a short workflow (`multicastRegistryOperationWorkflow`, one activity on the
//     registry slot): needs nothing but Temporal, costs a workflow start and ~10 history events.
// Both paths run the same RegistryStore code, so semantics are identical. Multicast is always a
// workflow: it is long, must survive worker crashes, and reports progress through a query.
//
// A consumer reads what multicasts with channel `queue` or `both` left in its identity's queue
// with receive() and ack(): directly on the durability backend when given a handle on it
// (`inbox`, guarded the same way), otherwise through the same operation workflow (receive/ack
// activities on the durability slot).
import { randomUUID } from 'node:crypto';
import { ActivityFailure, ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { Inbox } from '../activities/multicast-registry/inbox';
import { RegistryError, RegistryStore, type RegistryDriver } from '../activities/multicast-registry/registry-store';
import type { Capability, QueueBasic } from '../drivers/capabilities';
import { hasCapability } from '../drivers/driver';
import { isDriverError } from '../drivers/errors';
import { driverFailureType } from '../resilience/activity-interceptor';
import { describeIssues } from '../workflows/input';
import type { Metadata } from '../workflows/multicast-registry/filter';
import {
  ackInput,
  deliveredInput,
  enumerateInput,
  heartbeatInput,
  multicastInput,
  receiveInput,
  registerInput,
  unregisterInput,
  type Channel,
  type DeliveredPage,
  type DeliveryMode,
  type EnumeratePage,
  type MulticastProgress,
  type MulticastReport,
  type QueuedDelivery,
  type Registration,
  type RegistryOperationInput,
  type TargetReport,
} from '../workflows/multicast-registry/input';
import { MULTICAST_REGISTRY } from '../workflows/multicast-registry/slots';
import { multicastWorkflow } from '../workflows/multicast-registry/workflow';
import { ConfigError } from '../common/config-errors';
import type { PrismConfig } from '../config/schema';
import type { BackendHandle } from '../runtime/backend-handle';
import { BackendPool } from '../runtime/backend-pool';
import { prepareSecurity } from '../config/prepare-security';
import type { PrismClient, Started } from './prism-client';
import type { z } from 'zod';

export { RegistryError, type QueuedDelivery };

/** Each workflow task of a multicast may take this long (why: at startMulticast). */
const MULTICAST_WORKFLOW_TASK_TIMEOUT = '30s';

export interface MulticastOptions {
  contentType?: string;
  delivery?: DeliveryMode;
  concurrency?: number;
  batchSize?: number;
  pageSize?: number;
  topicPrefix?: string;
  /** `pubsub` (default), `queue` or `both`; `queue` and `both` need the durability slot bound. */
  channel?: Channel;
  queuePrefix?: string;
  retry?: { maxAttempts?: number; initialIntervalMs?: number; backoffCoefficient?: number; maxIntervalMs?: number };
  pagesPerRun?: number;
  workflowId?: string;
}

export interface MulticastHandle extends Started {
  /** The report so far (the `multicastReport` query). */
  report(): Promise<MulticastReport>;
  /** The counts so far (the `multicastProgress` query): cheap enough to poll. */
  progress(): Promise<MulticastProgress>;
  /** Waits for the multicast to finish; the final report. */
  result(): Promise<MulticastReport>;
}

function parse<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw new RegistryError('InvalidInput', describeIssues(result.error));
  return result.data;
}

/** Turns a failed operation workflow back into the RegistryError its activity raised. */
function unwrap(err: unknown): unknown {
  let cause: unknown = err instanceof WorkflowFailedError ? err.cause : err;
  if (cause instanceof ActivityFailure) cause = cause.cause;
  if (cause instanceof ApplicationFailure && cause.type) {
    return new RegistryError(cause.type as RegistryError['type'], cause.message);
  }
  return err;
}

/** A permanent driver error on the direct path reads like the same error through a workflow. */
function unwrapDirect(err: unknown): unknown {
  if (isDriverError(err) && !err.retryable) return new RegistryError(driverFailureType(err.code), err.message);
  return err;
}

export interface ReceiveOptions {
  /** Messages at most (default 10). */
  max?: number;
  /** Unacked messages are handed out again after this long (default 30,000 ms). */
  visibilityTimeoutMs?: number;
  /** Wait up to this long when the queue is empty (default 0). */
  waitMs?: number;
  /** The multicasts' queuePrefix, when they set one (default `multicast.<registry>.`). */
  queuePrefix?: string;
}

/** Refuses a handle whose backend lacks what its path needs, naming the option. */
function checkHandle(option: string, handle: BackendHandle, needs: readonly Capability[]): void {
  const missing = needs.filter((c) => !hasCapability(handle, c));
  if (missing.length > 0) {
    throw new RegistryError(
      'InvalidInput',
      `${option}: backend ${handle.backend} (${handle.driverName}) lacks ${missing.join(', ')}`,
    );
  }
}

export interface MulticastRegistryClientOptions {
  /** The registry backend, opened with `BackendPool.open`: registry operations run on it directly. */
  direct?: BackendHandle;
  /** The durability backend, opened with `BackendPool.open`: receive/ack run on it directly. */
  inbox?: BackendHandle;
}

export class MulticastRegistryClient {
  private readonly store?: RegistryStore;
  private readonly inbox?: Inbox;
  /** Handles fromConfig opened (a caller's own handles stay the caller's to close). */
  private owned: BackendHandle[] = [];

  /** Without handles, every operation is a short workflow; the caller keeps and closes the handles. */
  constructor(
    readonly prism: PrismClient,
    readonly registry: string,
    options: MulticastRegistryClientOptions = {},
  ) {
    parse(registerInput.shape.registry, registry);
    if (options.direct) {
      checkHandle('direct', options.direct, ['keyvalue_basic', 'keyvalue_scan']);
      this.store = new RegistryStore(options.direct as unknown as RegistryDriver);
    }
    if (options.inbox) {
      checkHandle('inbox', options.inbox, ['queue_basic']);
      this.inbox = new Inbox(options.inbox as unknown as QueueBasic);
    }
  }

  /**
   * A client on the fast paths a worker config binds: `direct` on the registry slot's backend and
   * `inbox` on the durability slot's (when bound), opened in `pool` (default BackendPool.shared();
   * `worker.backends` in the worker's process). close() releases them.
   */
  static async fromConfig(
    prism: PrismClient,
    registry: string,
    config: PrismConfig,
    options: { pool?: BackendPool; file?: string } = {},
  ): Promise<MulticastRegistryClient> {
    const file = options.file ?? '<config>';
    const { config: resolved } = prepareSecurity(config, file);
    const slots = resolved.patterns[MULTICAST_REGISTRY]?.slots ?? {};
    if (typeof slots.registry !== 'string') {
      throw new ConfigError(file, [`patterns.${MULTICAST_REGISTRY}.slots.registry: expected a backend name`]);
    }
    const pool = options.pool ?? BackendPool.shared();
    const opened: BackendHandle[] = [];
    try {
      for (const name of new Set([slots.registry, slots.durability].filter((n) => typeof n === 'string'))) {
        opened.push(await pool.open(name, resolved.backends[name]));
      }
      const byName = (name: unknown) => opened.find((h) => h.backend === name);
      const client = new MulticastRegistryClient(prism, registry, {
        direct: byName(slots.registry),
        inbox: byName(slots.durability),
      });
      client.owned = opened;
      return client;
    } catch (err) {
      await Promise.all(opened.map((h) => h.close()));
      throw err;
    }
  }

  /** Releases the handles fromConfig opened; a no-op for a client given its handles. */
  async close(): Promise<void> {
    const owned = this.owned;
    this.owned = [];
    await Promise.all(owned.map((h) => h.close()));
  }

  private async viaWorkflow<T>(input: RegistryOperationInput): Promise<T> {
    const started = await this.prism.start('multicastRegistryOperationWorkflow', [input], {
      pattern: MULTICAST_REGISTRY,
      workflowId: `${MULTICAST_REGISTRY}-${input.op}-${randomUUID()}`,
      memo: { registry: this.registry, operation: input.op },
    });
    try {
      return (await started.handle.result()) as T;
    } catch (err) {
      throw unwrap(err);
    }
  }

  /** Registers an identity; IdentityConflict when it is live and `replace` is not set. */
  async register(
    identity: string,
    metadata: Metadata = {},
    options: { ttlSeconds?: number; replace?: boolean } = {},
  ): Promise<Registration> {
    const input = parse(registerInput, { registry: this.registry, identity, metadata, ...options });
    if (this.store) return this.store.register(input);
    return this.viaWorkflow({ op: 'register', ...input });
  }

  /** Renews an identity's lease; IdentityNotFound when it is gone or expired. */
  async heartbeat(identity: string, options: { ttlSeconds?: number } = {}): Promise<Registration> {
    const input = parse(heartbeatInput, { registry: this.registry, identity, ...options });
    if (this.store) return this.store.heartbeat(input);
    return this.viaWorkflow({ op: 'heartbeat', ...input });
  }

  /** Idempotent. */
  async unregister(identity: string): Promise<{ removed: boolean }> {
    const input = parse(unregisterInput, { registry: this.registry, identity });
    if (this.store) return this.store.unregister(input);
    return this.viaWorkflow({ op: 'unregister', ...input });
  }

  /** One page of live identities matching the filter; pass `cursor` back for the next. */
  async enumerate(
    filter: Record<string, unknown> = {},
    options: { limit?: number; cursor?: string | null } = {},
  ): Promise<EnumeratePage> {
    const input = parse(enumerateInput, { registry: this.registry, filter, ...options });
    if (this.store) {
      try {
        return await this.store.enumerate(input);
      } catch (err) {
        throw unwrap(err);
      }
    }
    return this.viaWorkflow({ op: 'enumerate', ...input });
  }

  /** Every matching identity, page by page. */
  async *enumerateAll(filter: Record<string, unknown> = {}, pageSize = 500): AsyncGenerator<Registration> {
    let cursor: string | null = null;
    do {
      const page: EnumeratePage = await this.enumerate(filter, { limit: pageSize, cursor });
      yield* page.identities;
      cursor = page.cursor;
    } while (cursor !== null);
  }

  /**
   * Up to `max` messages from an identity's queue (multicasts sent with channel `queue` or
   * `both`), oldest first. Each is hidden from other readers until acked or its visibility
   * timeout runs out; at-least-once delivery means a message may come twice (same `multicastId`).
   */
  async receive(identity: string, options: ReceiveOptions = {}): Promise<QueuedDelivery[]> {
    const input = parse(receiveInput, { registry: this.registry, identity, ...options });
    if (!this.inbox) return this.viaWorkflow({ op: 'receive', ...input });
    try {
      return await this.inbox.receive(input);
    } catch (err) {
      throw unwrapDirect(err);
    }
  }

  /** Removes a received message for good; DriverNotFound once its visibility timeout ran out. */
  async ack(identity: string, receipt: string, options: { queuePrefix?: string } = {}): Promise<void> {
    const input = parse(ackInput, { registry: this.registry, identity, receipt, ...options });
    if (!this.inbox) {
      await this.viaWorkflow({ op: 'ack', ...input });
      return;
    }
    try {
      await this.inbox.ack(input);
    } catch (err) {
      throw unwrapDirect(err);
    }
  }

  /** Starts a multicast; an invalid filter or option is refused here, before anything starts. */
  async startMulticast(
    filter: Record<string, unknown>,
    payload: string,
    options: MulticastOptions = {},
  ): Promise<MulticastHandle> {
    const { workflowId, ...rest } = options;
    const input = { registry: this.registry, filter, payload, ...rest };
    parse(multicastInput, input);
    const started = await this.prism.start(multicastWorkflow, [input], {
      pattern: MULTICAST_REGISTRY,
      workflowId: workflowId ?? `${MULTICAST_REGISTRY}-multicast-${randomUUID()}`,
      memo: { registry: this.registry },
      summary: oneLine(`multicast in ${this.registry} to ${JSON.stringify(filter)}`),
      // A multicast's workflow task is small (one page's counts in, the next page's command out:
      // 10–170 ms on the dev stack at 100,000 identities), but it shares its worker with the page
      // activities and every other pattern. On a CPU-starved worker (the loopback cluster's
      // full-size run, docs/scale-out.md) one took 17.6 s: at the 10 s default it timed out again
      // and again, each retry a full replay elsewhere that added to the load. 30 s rides that out
      // while a task lost with its worker is still retried elsewhere within half a minute.
      workflowTaskTimeout: MULTICAST_WORKFLOW_TASK_TIMEOUT,
    });
    return multicastHandle(started);
  }

  /** Multicasts and waits for the final report. */
  async multicast(
    filter: Record<string, unknown>,
    payload: string,
    options: MulticastOptions = {},
  ): Promise<MulticastReport> {
    return (await this.startMulticast(filter, payload, options)).result();
  }

  /**
   * One page of a paged multicast's delivered targets, read from its report rows in the registry
   * (`report.reportId`; pass `cursor` back for the next page). A later page may repeat targets.
   */
  async deliveredTargets(
    report: Pick<MulticastReport, 'reportId'>,
    options: { cursor?: string | null; rows?: number } = {},
  ): Promise<DeliveredPage> {
    const input = parse(deliveredInput, { registry: this.registry, reportId: report.reportId, ...options });
    if (!this.store) return this.viaWorkflow({ op: 'delivered', ...input });
    try {
      return await this.store.delivered(input);
    } catch (err) {
      throw unwrapDirect(err);
    }
  }

  /**
   * Every target of a multicast's report, each once: its failures (from the report) and its
   * delivered targets (the report's statuses, or for a paged multicast its rows in the registry).
   */
  async *reportTargets(report: MulticastReport): AsyncGenerator<TargetReport> {
    const seen = new Set<string>();
    for (const status of report.statuses) {
      seen.add(status.identity);
      yield status;
    }
    if (report.reportId === undefined) return;
    let cursor: string | null = null;
    do {
      const page: DeliveredPage = await this.deliveredTargets(report, { cursor });
      for (const target of page.targets) {
        if (seen.has(target.identity)) continue;
        seen.add(target.identity);
        yield target;
      }
      cursor = page.cursor;
    } while (cursor !== null);
  }

  /** A multicast started earlier (by this or another client), by its workflow id. */
  multicastOf(workflowId: string): MulticastHandle {
    const handle = this.prism.handle(workflowId);
    // No run id: the handle follows the multicast's latest run (it continues as new).
    return multicastHandle({ workflowId, runId: '', uiUrl: this.prism.uiUrl(workflowId), handle });
  }
}

/** The Temporal UI shows a summary on one line: a long filter is cut. */
function oneLine(text: string, max = 160): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function multicastHandle(started: Started<typeof multicastWorkflow>): MulticastHandle {
  return {
    ...started,
    report: () => started.handle.query<MulticastReport>('multicastReport'),
    progress: () => started.handle.query<MulticastProgress>('multicastProgress'),
    result: () => started.handle.result() as Promise<MulticastReport>,
  };
}
