// The multicast registry's workflows.
//
// multicastWorkflow: enumerate matching identities page by page (a heartbeating activity on the
// registry slot), fan each page out in batches (one activity per batch on the messaging slot, at
// most `concurrency` in flight), retry transiently failed targets per the input's policy, and
// account for every target in a report that is both the result and the `multicastReport` query.
// History stays bounded: one activity per batch (not per target), compact batch results, and
// continue-as-new between pages when Temporal suggests it (or after `pagesPerRun` pages),
// carrying the cursor and the bounded ledger.
//
// multicastRegistryOperationWorkflow: one registry operation (register, heartbeat, unregister,
// enumerate) as a short workflow, for clients without a direct connection to the registry backend.
import {
  ActivityFailure,
  ApplicationFailure,
  continueAsNew,
  defineQuery,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { MessagingActivities } from '../../activities/multicast-registry/messaging-activities';
import type { RegistryActivities } from '../../activities/multicast-registry/registry-activities';
import { parseInput } from '../input';
import { PRISM_PATTERN, PRISM_PROGRESS, PRISM_STATUS } from '../search-attributes';
import { activityOptions, bindSlots, useSlotActivities } from '../slots';
import {
  defaultTopicPrefix,
  multicastInput,
  registryOperationInput,
  type MulticastInput,
  type MulticastOptions,
  type MulticastReport,
  type RegistryOperationInput,
  type RegistryOperationResult,
} from './input';
import { MulticastLedger, type LedgerState } from './ledger';
import { MULTICAST_REGISTRY } from './slots';

export const multicastReportQuery = defineQuery<MulticastReport>('multicastReport');

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

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export async function multicastWorkflow(rawInput: MulticastInput, carry?: MulticastCarry): Promise<MulticastReport> {
  const input: MulticastOptions = parseInput(multicastInput, rawInput);
  // The query answers from the first workflow task on, before any activity ran.
  const ledger = new MulticastLedger(carry?.ledger);
  let enumerated = carry !== undefined && carry.cursor === null;
  let done = false;
  setHandler(multicastReportQuery, () => ledger.report(done, input.delivery));
  const slots = await bindSlots(MULTICAST_REGISTRY);
  const registry = useSlotActivities<RegistryActivities>(slots.registry, { startToCloseTimeout: '10m' });
  const messagingOptions = activityOptions(slots.messaging, { startToCloseTimeout: '10m' });
  const messaging = useSlotActivities<MessagingActivities>(
    slots.messaging,
    // at-most-once: a batch that ran is never run again; breaker rejections are retried below.
    input.delivery === 'at-most-once'
      ? { ...messagingOptions, retry: { ...messagingOptions.retry, maximumAttempts: 1 } }
      : messagingOptions,
  );

  upsertSearchAttributes([
    { key: PRISM_PATTERN, value: MULTICAST_REGISTRY },
    { key: PRISM_STATUS, value: 'running' },
    { key: PRISM_PROGRESS, value: ledger.accounted },
  ]);

  const multicastId = workflowInfo().workflowId;
  const topicPrefix = input.topicPrefix ?? defaultTopicPrefix(input.registry);

  const backoff = (tries: number): number =>
    Math.min(input.retry.maxIntervalMs, input.retry.initialIntervalMs * input.retry.backoffCoefficient ** (tries - 1));

  const deliverBatch = async (batch: string[]): Promise<void> => {
    const attempts = new Map<string, number>();
    let pending = batch;
    let tries = 0;
    while (pending.length > 0) {
      tries += 1;
      let result;
      try {
        result = await messaging.publishBatch({
          multicastId,
          topicPrefix,
          identities: pending,
          payload: input.payload,
          contentType: input.contentType,
          delivery: input.delivery,
        });
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
        for (const identity of pending) ledger.fail(identity, (attempts.get(identity) ?? 0) + 1, reason);
        return;
      }
      const failures = new Map(result.failures.map((f) => [f.identity, f]));
      const retry: string[] = [];
      for (const identity of pending) {
        const tried = (attempts.get(identity) ?? 0) + result.attempt;
        attempts.set(identity, tried);
        const failure = failures.get(identity);
        if (!failure) ledger.deliver(identity, tried);
        else if (failure.retryable && tries < input.retry.maxAttempts) retry.push(identity);
        else ledger.fail(identity, tried, failure.error);
      }
      pending = retry;
      if (pending.length > 0) await sleep(backoff(tries));
    }
  };

  // Batches from every page share one pool of `concurrency` lanes: the next page is enumerated
  // while the previous page's batches are still publishing.
  const inFlight = new Set<Promise<void>>();
  const submit = async (batch: string[]): Promise<void> => {
    while (inFlight.size >= input.concurrency) await Promise.race(inFlight);
    const delivery: Promise<void> = deliverBatch(batch).finally(() => inFlight.delete(delivery));
    inFlight.add(delivery);
  };

  let cursor = carry?.cursor ?? null;
  let pages = 0;
  while (!enumerated) {
    const page = await registry.enumerateTargets({
      registry: input.registry,
      filter: input.filter,
      limit: input.pageSize,
      cursor,
    });
    ledger.addTargets(page.identities.length);
    for (const batch of chunk(page.identities, input.batchSize)) await submit(batch);
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
      await Promise.all(inFlight);
      await continueAsNew<typeof multicastWorkflow>(rawInput, {
        cursor,
        ledger: ledger.state(),
        runs: (carry?.runs ?? 1) + 1,
      });
    }
  }
  await Promise.all(inFlight);

  done = true;
  const report = ledger.report(true, input.delivery);
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
  }
}
