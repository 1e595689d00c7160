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
  isCancellation,
  patched,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { DurabilityActivities } from '../../activities/multicast-registry/durability-activities';
import type { MessagingActivities } from '../../activities/multicast-registry/messaging-activities';
import type { RegistryActivities } from '../../activities/multicast-registry/registry-activities';
import type { SendChannel, SendPageResult } from '../../activities/multicast-registry/send-page';
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
import { MulticastLedger, type LedgerState } from './logic';
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

/** Past this many history bytes a paged run continues as new (the bound is 2 MB per run). */
const HISTORY_BYTES_PER_RUN = 1_000_000;

/** Matching targets per page when the input names none: one activity each (pageSize before paging: 1000). */
const DEFAULT_PAGE_TARGETS = 5_000;
const DEFAULT_ENUMERATE_PAGE = 1_000;

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
  // Pages: one activity scans, filters, claims, sends and records a page, and returns counts and
  // failures only; delivered targets are listed in the registry's report rows, not in history.
  const byPages = patched('multicast-pages');
  const reportId = byPages ? { reportId: workflowInfo().firstExecutionRunId } : {};
  // The query answers from the first workflow task on, before any activity ran.
  const ledger = new MulticastLedger(carry?.ledger);
  let enumerated = carry !== undefined && carry.cursor === null;
  let done = false;
  const report = (): MulticastReport => ({ ...ledger.report(done, input.delivery, input.channel), ...reportId });
  setHandler(multicastReportQuery, report);
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
  const deliverVia = async (send: SendBatch, batch: string[], settle: Settle, prior = 0): Promise<void> => {
    // `prior`: tries already made (a page's send), each counted as an attempt for every target.
    const attempts = new Map<string, number>(batch.map((id) => [id, prior]));
    let pending = batch;
    let tries = prior;
    if (prior > 0 && pending.length > 0) await sleep(backoff(prior));
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

  if (byPages) {
    await sendByPages();
    return finish();
  }

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
      limit: input.pageSize ?? DEFAULT_ENUMERATE_PAGE,
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
  return finish();

  function finish(): MulticastReport {
    done = true;
    const final = report();
    upsertSearchAttributes([
      { key: PRISM_STATUS, value: final.failed === 0 ? 'completed' : 'completed_with_failures' },
      { key: PRISM_PROGRESS, value: ledger.accounted },
    ]);
    return final;
  }

  /**
   * The paged multicast: one sendPage activity per page, in cursor order; a page's failed targets
   * are retried per channel (per the input's policy) while the next pages go on.
   */
  async function sendByPages(): Promise<void> {
    const reportRows = workflowInfo().firstExecutionRunId;
    const pageChannels: SendChannel[] = input.channel === 'both' ? ['pubsub', 'queue'] : [input.channel];
    const channelSends = new Map(channels.map(([name, send]) => [name as SendChannel, send]));
    // at-most-once: a page that ran is never run again; a lost one is accounted for (`lost`) instead.
    const pageSender = useSlotActivities<RegistryActivities>(slots.registry, sendOptions(slots.registry));
    const pageInput = (cursor: string | null, token: string, lost?: string) => ({
      registry: input.registry,
      filter: input.filter,
      cursor,
      limit: input.pageSize ?? DEFAULT_PAGE_TARGETS,
      claim: { multicastId: reportRows, token },
      channels: pageChannels,
      topicPrefix: input.topicPrefix ?? defaultTopicPrefix(input.registry),
      queuePrefix: input.queuePrefix ?? defaultQueuePrefix(input.registry),
      multicastId: workflowInfo().workflowId,
      payload: input.payload,
      contentType: input.contentType,
      delivery: input.delivery,
      ...(lost === undefined ? {} : { lost }),
    });
    const sendOnePage = async (cursor: string | null, token: string): Promise<SendPageResult> => {
      for (;;) {
        try {
          return await pageSender.sendPage(pageInput(cursor, token));
        } catch (err) {
          if (isCancellation(err)) throw err;
          const wait = input.delivery === 'at-most-once' ? rejectedUnrun(err) : null;
          if (wait !== null) {
            await sleep(wait);
            continue;
          }
          const reason =
            input.delivery === 'at-most-once'
              ? `not re-sent (at-most-once), delivery unknown: ${failureReason(err)}`
              : failureReason(err);
          // The same cursor and claim token: the same targets, now accounted as failed.
          return registry.sendPage(pageInput(cursor, token, reason));
        }
      }
    };

    /** A page's failed targets: each channel retries its own; a target settles when every channel has. */
    const settlePage = async (page: SendPageResult, token: string): Promise<void> => {
      const outcome = new Map<string, { left: number; attempts: number; errors: string[] }>();
      for (const f of page.failures) {
        outcome.set(f.identity, { left: pageChannels.length, attempts: page.attempt, errors: [] });
      }
      const retried: { identities: string[]; attempts: number[] } = { identities: [], attempts: [] };
      const settleOn =
        (name: SendChannel): Settle =>
        (identity, attempts, error) => {
          const o = outcome.get(identity)!;
          o.left -= 1;
          o.attempts = Math.max(o.attempts, attempts);
          if (error !== undefined) o.errors.push(pageChannels.length > 1 ? `${name}: ${error}` : error);
          if (o.left > 0) return;
          if (o.errors.length > 0) ledger.fail(identity, o.attempts, o.errors.join('; '));
          else {
            ledger.countDelivered(1);
            retried.identities.push(identity);
            retried.attempts.push(o.attempts);
          }
        };
      await Promise.all(
        pageChannels.map(async (name) => {
          const settle = settleOn(name);
          const failedHere = page.failures.filter((f) => f.channel === name);
          const failedIds = new Set(failedHere.map((f) => f.identity));
          // This channel took every failed target it is not listed for.
          for (const identity of outcome.keys()) if (!failedIds.has(identity)) settle(identity, page.attempt);
          const retry: string[] = [];
          for (const f of failedHere) {
            if (f.retryable && input.retry.maxAttempts > 1) retry.push(f.identity);
            else settle(f.identity, page.attempt, f.error);
          }
          for (let i = 0; i < retry.length; i += input.batchSize) {
            await deliverVia(channelSends.get(name)!, retry.slice(i, i + input.batchSize), settle, 1);
          }
        }),
      );
      if (retried.identities.length > 0) {
        await registry.recordDelivered({
          registry: input.registry,
          reportId: reportRows,
          row: `${token}/retried`,
          ...retried,
        });
      }
    };

    const retries: Promise<void>[] = [];
    let cursor = carry?.cursor ?? null;
    let pages = 0;
    while (!enumerated) {
      const token = `${workflowInfo().runId}/${pages}`;
      const page = await sendOnePage(cursor, token);
      ledger.addTargets(page.targets);
      ledger.countDelivered(page.delivered);
      if (page.failures.length > 0) retries.push(settlePage(page, token));
      cursor = page.cursor;
      enumerated = cursor === null;
      pages += 1;
      upsertSearchAttributes([{ key: PRISM_PROGRESS, value: ledger.accounted }]);
      const info = workflowInfo();
      if (
        !enumerated &&
        (info.continueAsNewSuggested ||
          info.historyLength > HISTORY_EVENTS_PER_RUN ||
          info.historySize > HISTORY_BYTES_PER_RUN ||
          (input.pagesPerRun !== undefined && pages >= input.pagesPerRun))
      ) {
        await Promise.all(retries);
        await continueAsNew<typeof multicastWorkflow>(rawInput, {
          cursor,
          ledger: ledger.state(),
          runs: (carry?.runs ?? 1) + 1,
        });
      }
    }
    await Promise.all(retries);
  }
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
    case 'delivered':
      return registry.delivered({
        registry: input.registry,
        reportId: input.reportId,
        cursor: input.cursor,
        rows: input.rows,
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
