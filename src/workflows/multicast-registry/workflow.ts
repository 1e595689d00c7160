// The multicast registry's workflows.
//
// multicastWorkflow: enumerate matching identities page by page (a heartbeating activity on the
// registry slot), fan each page out in batches through the shared FanOutPool primitive (one
// activity per batch and channel, at most `concurrency` batches in flight across pages), retry
// transiently failed targets per the input's policy, and account for every target in a report
// that is both the result and the `multicastReport` query (`multicastProgress` answers the counts
// alone, for polling). Channels: `pubsub` publishes on the
// messaging slot, `queue` enqueues on the optional durability slot, `both` does both and counts a
// target delivered only when every channel took it (each channel retries only its own failures,
// so a retry never queues a target twice). History stays bounded: one activity per batch (not per
// target), compact batch results, and continue-as-new between pages when Temporal suggests it (or
// after `pagesPerRun` pages), carrying the cursor and the bounded ledger.
//
// multicastRegistryOperationWorkflow: one registry operation (register, heartbeat, unregister,
// enumerate) or inbox operation (receive, ack) as a short workflow, for clients without a direct
// connection to the backend.
import {
  ActivityFailure,
  ApplicationFailure,
  continueAsNew,
  defineQuery,
  patched,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { DurabilityActivities } from '../../activities/multicast-registry/durability-activities';
import type { MessagingActivities } from '../../activities/multicast-registry/messaging-activities';
import type { RegistryActivities } from '../../activities/multicast-registry/registry-activities';
import type { TargetBatchInput, TargetBatchResult } from '../../activities/multicast-registry/target-batch';
import type { SlotBinding } from '../../sdk/slot';
import { parseInput } from '../input';
import { FanOutPool } from '../primitives/fan-out';
import { PRISM_PATTERN, PRISM_PROGRESS, PRISM_STATUS } from '../search-attributes';
import { activityOptions, bindSlots, useSlotActivities } from '../slots';
import {
  defaultQueuePrefix,
  defaultTopicPrefix,
  multicastInput,
  registryOperationInput,
  type MulticastInput,
  type MulticastOptions,
  type MulticastProgress,
  type MulticastReport,
  type RegistryOperationInput,
  type RegistryOperationResult,
} from './input';
import { MulticastLedger, type LedgerState } from './ledger';
import { MULTICAST_REGISTRY } from './slots';

export const multicastReportQuery = defineQuery<MulticastReport>('multicastReport');
/** Counts only, for polling: the report carries up to STATUS_LIST_LIMIT target statuses. */
export const multicastProgressQuery = defineQuery<MulticastProgress>('multicastProgress');

/** What a multicast carries into its next run after continue-as-new. */
export interface MulticastCarry {
  cursor: string | null;
  ledger: LedgerState;
  runs: number;
}

/** Past this many events a run continues as new even if Temporal has not suggested it yet. */
const HISTORY_EVENTS_PER_RUN = 20_000;

const BREAKER_REJECTIONS = new Set(['CircuitOpen', 'BulkheadFull']);

function failureReason(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return `${err.cause.name}: ${err.cause.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** A breaker or bulkhead rejection: the activity never ran, so nothing was published. */
function rejectedUnrun(err: unknown): number | null {
  if (!(err instanceof ActivityFailure) || !(err.cause instanceof ApplicationFailure)) return null;
  if (!err.cause.type || !BREAKER_REJECTIONS.has(err.cause.type)) return null;
  const details = err.cause.details?.[0] as { retryAfterMs?: number } | undefined;
  return details?.retryAfterMs ?? 1000;
}

/** The durability slot is optional: a clear, non-retryable refusal when an operation needs it unbound. */
function durabilitySlot(binding: SlotBinding | undefined, needer: string): SlotBinding {
  if (binding) return binding;
  throw ApplicationFailure.nonRetryable(
    `${needer} needs the multicast registry's durability slot, which this worker's config does not bind ` +
      '(patterns.multicast-registry.slots.durability: a backend with queue_basic)',
    'DurabilityNotConfigured',
  );
}

/** One channel's send of a batch: the activity behind `pubsub` or `queue`. */
type SendBatch = (identities: string[]) => Promise<TargetBatchResult>;

/** How a target ended on one channel; `error` is set when it failed there for good. */
type Settle = (identity: string, attempts: number, error?: string) => void;

export async function multicastWorkflow(rawInput: MulticastInput, carry?: MulticastCarry): Promise<MulticastReport> {
  const input: MulticastOptions = parseInput(multicastInput, rawInput);
  // Enumeration may yield an identity twice (SCAN repeats, a scan started again after the
  // registry's server changed): each page is claimed in the registry (marks per multicast, kept
  // there rather than in history), so a target is sent and counted once. Runs begun before this
  // existed go on without it. Asked first, before any command, so replay always meets the marker
  // where it was recorded.
  const claimTargets = patched('multicast-claim-targets');
  // The query answers from the first workflow task on, before any activity ran.
  const ledger = new MulticastLedger(carry?.ledger);
  let enumerated = carry !== undefined && carry.cursor === null;
  let done = false;
  setHandler(multicastReportQuery, () => ledger.report(done, input.delivery, input.channel));
  setHandler(multicastProgressQuery, () => ledger.progress(done));
  const slots = await bindSlots(MULTICAST_REGISTRY);
  // Before any work: `queue` and `both` need the optional durability slot.
  const durabilityBinding =
    input.channel === 'pubsub'
      ? undefined
      : durabilitySlot(slots.durability as SlotBinding | undefined, `channel: "${input.channel}"`);
  const registry = useSlotActivities<RegistryActivities>(slots.registry, { startToCloseTimeout: '10m' });
  // at-most-once: a batch that ran is never run again; breaker rejections are retried below.
  const sendOptions = (binding: SlotBinding) => {
    const options = activityOptions(binding, { startToCloseTimeout: '10m' });
    return input.delivery === 'at-most-once'
      ? { ...options, retry: { ...options.retry, maximumAttempts: 1 } }
      : options;
  };

  upsertSearchAttributes([
    { key: PRISM_PATTERN, value: MULTICAST_REGISTRY },
    { key: PRISM_STATUS, value: 'running' },
    { key: PRISM_PROGRESS, value: ledger.accounted },
  ]);

  const common = (identities: string[]): TargetBatchInput => ({
    multicastId: workflowInfo().workflowId,
    identities,
    payload: input.payload,
    contentType: input.contentType,
    delivery: input.delivery,
  });
  const channels: [string, SendBatch][] = [];
  if (input.channel !== 'queue') {
    const messaging = useSlotActivities<MessagingActivities>(slots.messaging, sendOptions(slots.messaging));
    const topicPrefix = input.topicPrefix ?? defaultTopicPrefix(input.registry);
    channels.push(['pubsub', (identities) => messaging.publishBatch({ ...common(identities), topicPrefix })]);
  }
  if (durabilityBinding) {
    const durability = useSlotActivities<DurabilityActivities>(durabilityBinding, sendOptions(durabilityBinding));
    const queuePrefix = input.queuePrefix ?? defaultQueuePrefix(input.registry);
    channels.push(['queue', (identities) => durability.enqueueBatch({ ...common(identities), queuePrefix })]);
  }

  const backoff = (tries: number): number =>
    Math.min(input.retry.maxIntervalMs, input.retry.initialIntervalMs * input.retry.backoffCoefficient ** (tries - 1));

  /** One channel's attempts at a batch: retries its own transient failures, settles every target once. */
  const deliverVia = async (send: SendBatch, batch: string[], settle: Settle): Promise<void> => {
    const attempts = new Map<string, number>();
    let pending = batch;
    let tries = 0;
    while (pending.length > 0) {
      tries += 1;
      let result;
      try {
        result = await send(pending);
      } catch (err) {
        const wait = input.delivery === 'at-most-once' ? rejectedUnrun(err) : null;
        if (wait !== null) {
          tries -= 1;
          await sleep(wait);
          continue;
        }
        // The batch gave up (retries exhausted, or at-most-once and interrupted): final for these.
        const reason =
          input.delivery === 'at-most-once'
            ? `not re-sent (at-most-once), delivery unknown: ${failureReason(err)}`
            : failureReason(err);
        for (const identity of pending) settle(identity, (attempts.get(identity) ?? 0) + 1, reason);
        return;
      }
      const failures = new Map(result.failures.map((f) => [f.identity, f]));
      const retry: string[] = [];
      for (const identity of pending) {
        const tried = (attempts.get(identity) ?? 0) + result.attempt;
        attempts.set(identity, tried);
        const failure = failures.get(identity);
        if (!failure) settle(identity, tried);
        else if (failure.retryable && tries < input.retry.maxAttempts) retry.push(identity);
        else settle(identity, tried, failure.error);
      }
      pending = retry;
      if (pending.length > 0) await sleep(backoff(tries));
    }
  };

  const record: Settle = (identity, attempts, error) =>
    error === undefined ? ledger.deliver(identity, attempts) : ledger.fail(identity, attempts, error);

  /** Every channel at once; a target goes into the ledger when its last channel has settled it. */
  const deliverBatch = async (batch: string[]): Promise<void> => {
    if (input.channel === 'pubsub') return deliverVia(channels[0][1], batch, record);
    const outcome = new Map(batch.map((id) => [id, { left: channels.length, attempts: 0, errors: [] as string[] }]));
    const settleOn =
      (name: string): Settle =>
      (identity, attempts, error) => {
        const o = outcome.get(identity)!;
        o.left -= 1;
        o.attempts = Math.max(o.attempts, attempts);
        if (error !== undefined) o.errors.push(`${name}: ${error}`);
        if (o.left === 0) record(identity, o.attempts, o.errors.length > 0 ? o.errors.join('; ') : undefined);
      };
    await Promise.all(channels.map(([name, send]) => deliverVia(send, batch, settleOn(name))));
  };

  // Batches from every page share one pool of `concurrency` lanes: the next page is enumerated
  // while the previous page's batches are still being sent.
  const pool = new FanOutPool<string>(deliverBatch, { batchSize: input.batchSize, concurrency: input.concurrency });
  const settleAll = async (): Promise<void> => {
    // deliverBatch accounts for every send failure itself: anything thrown is a cancellation or a
    // bug, and ends the workflow as it would without the pool.
    const { failures } = await pool.drain();
    if (failures.length > 0) throw failures[0].error;
  };

  let cursor = carry?.cursor ?? null;
  let pages = 0;
  while (!enumerated) {
    const page = await registry.enumerateTargets({
      registry: input.registry,
      filter: input.filter,
      limit: input.pageSize,
      cursor,
      ...(claimTargets && {
        claim: { multicastId: workflowInfo().firstExecutionRunId, token: `${workflowInfo().runId}/${pages}` },
      }),
    });
    ledger.addTargets(page.identities.length);
    await pool.submit(page.identities);
    cursor = page.cursor;
    enumerated = cursor === null;
    pages += 1;
    upsertSearchAttributes([{ key: PRISM_PROGRESS, value: ledger.accounted }]);
    const info = workflowInfo();
    if (
      !enumerated &&
      (info.continueAsNewSuggested ||
        info.historyLength > HISTORY_EVENTS_PER_RUN ||
        (input.pagesPerRun !== undefined && pages >= input.pagesPerRun))
    ) {
      // Everything this run started is accounted for before the ledger moves to the next run.
      await settleAll();
      await continueAsNew<typeof multicastWorkflow>(rawInput, {
        cursor,
        ledger: ledger.state(),
        runs: (carry?.runs ?? 1) + 1,
      });
    }
  }
  await settleAll();

  done = true;
  const report = ledger.report(true, input.delivery, input.channel);
  upsertSearchAttributes([
    { key: PRISM_STATUS, value: report.failed === 0 ? 'completed' : 'completed_with_failures' },
    { key: PRISM_PROGRESS, value: ledger.accounted },
  ]);
  return report;
}

export async function multicastRegistryOperationWorkflow(
  rawInput: RegistryOperationInput,
): Promise<RegistryOperationResult> {
  const input = parseInput(registryOperationInput, rawInput);
  const slots = await bindSlots(MULTICAST_REGISTRY);
  const registry = useSlotActivities<RegistryActivities>(slots.registry);
  switch (input.op) {
    case 'register':
      return registry.register({
        registry: input.registry,
        identity: input.identity,
        metadata: input.metadata,
        ttlSeconds: input.ttlSeconds,
        replace: input.replace,
      });
    case 'heartbeat':
      return registry.heartbeat({ registry: input.registry, identity: input.identity, ttlSeconds: input.ttlSeconds });
    case 'unregister':
      return registry.unregister({ registry: input.registry, identity: input.identity });
    case 'enumerate':
      return registry.enumerate({
        registry: input.registry,
        filter: input.filter,
        limit: input.limit,
        cursor: input.cursor,
      });
    case 'receive':
    case 'ack': {
      const binding = durabilitySlot(slots.durability as SlotBinding | undefined, `op: "${input.op}"`);
      // A retried receive is harmless: what the lost attempt handed out reappears after its timeout.
      const inbox = useSlotActivities<DurabilityActivities>(
        binding,
        input.op === 'receive' ? { startToCloseTimeout: input.waitMs + 30_000 } : {},
      );
      const address = { registry: input.registry, identity: input.identity, queuePrefix: input.queuePrefix };
      if (input.op === 'ack') return inbox.ack({ ...address, receipt: input.receipt });
      return inbox.receive({
        ...address,
        max: input.max,
        visibilityTimeoutMs: input.visibilityTimeoutMs,
        waitMs: input.waitMs,
      });
    }
  }
}
