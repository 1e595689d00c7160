// The paged multicast: one sendPage activity per page, in cursor order. The activity scans,
// filters, claims, sends and records a page, and returns counts and failures only (delivered
// targets are listed in the registry's report rows, not in history). A page's failed targets are
// retried per channel (per the input's policy) while the next pages go on.
import { isCancellation, sleep, workflowInfo } from '@temporalio/workflow';
import type { MarkLayout } from '../../activities/multicast-registry/claim-marks';
import type { RegistryActivities } from '../../activities/multicast-registry/registry-activities';
import type { SendChannel, SendPageInput, SendPageResult } from '../../activities/multicast-registry/send-page';
import { useSlotActivities } from '../slots';
import { givenUpReason, rejectedUnrun, sendOptions, settleOnEveryChannel, type SendBatch } from './channel-delivery';
import { defaultQueuePrefix, defaultTopicPrefix, MAX_PAGE_TARGETS } from './input';
import { continueFrom, runIsFull, type MulticastRun } from './steps';

/**
 * Matching targets per page when the input names none: one activity each (pageSize before paging:
 * 1000). Multicasts whose marks are in one map take the largest page: fewer pages, so fewer round
 * trips through Temporal between them; the ones begun before keep their pages' size.
 */
const DEFAULT_PAGE_TARGETS = MAX_PAGE_TARGETS;
const DEFAULT_PAGE_TARGETS_BEFORE_MAPS = 5_000;

/**
 * Sends every page from the carried cursor, continuing as new when the run is full. `marks`: where
 * the pages keep their claim marks (absent: one key per target, as multicasts begun before maps).
 */
export async function sendByPages(run: MulticastRun, marks?: MarkLayout): Promise<void> {
  const sendOnePage = pageSender(run, marks);
  const retries: Promise<void>[] = [];
  let cursor = run.carry?.cursor ?? null;
  // A run carried with a null cursor had enumerated everything before it continued.
  let enumerated = run.carry !== undefined && run.carry.cursor === null;
  let pages = 0;
  while (!enumerated) {
    const token = `${workflowInfo().runId}/${pages}`;
    const page = await sendOnePage(cursor, token);
    run.tracker.ledger.addTargets(page.targets);
    run.tracker.ledger.countDelivered(page.delivered);
    if (page.failures.length > 0) retries.push(settlePage(run, page, token));
    cursor = page.cursor;
    enumerated = cursor === null;
    pages += 1;
    run.tracker.markProgress();
    if (!enumerated && runIsFull(run, pages, true)) {
      await Promise.all(retries);
      await continueFrom(run, cursor, marks);
    }
  }
  await Promise.all(retries);
}

/** Where a paged multicast's report rows and claims live: named by its first run, shared by every run. */
export function reportRowsId(): string {
  return workflowInfo().firstExecutionRunId;
}

function pageChannels(run: MulticastRun): SendChannel[] {
  return run.input.channel === 'both' ? ['pubsub', 'queue'] : [run.input.channel];
}

/**
 * Sends one page (the page at `cursor`, claimed with `token`). A breaker's rejection of an
 * at-most-once page is tried again after its wait; a page that gave up is sent again as `lost`
 * (same cursor and claim token: the same targets, now accounted as failed).
 */
function pageSender(
  run: MulticastRun,
  marks: MarkLayout | undefined,
): (cursor: string | null, token: string) => Promise<SendPageResult> {
  const { input } = run;
  // at-most-once: a page that ran is never run again; a lost one is accounted for (`lost`) instead.
  const pages = useSlotActivities<RegistryActivities>(run.slots.registry, sendOptions(input, run.slots.registry));
  const channels = pageChannels(run);
  const pageInput = (cursor: string | null, token: string, lost?: string): SendPageInput => ({
    registry: input.registry,
    filter: input.filter,
    cursor,
    limit: input.pageSize ?? (marks === 'map' ? DEFAULT_PAGE_TARGETS : DEFAULT_PAGE_TARGETS_BEFORE_MAPS),
    claim: { multicastId: reportRowsId(), token },
    channels,
    topicPrefix: input.topicPrefix ?? defaultTopicPrefix(input.registry),
    queuePrefix: input.queuePrefix ?? defaultQueuePrefix(input.registry),
    multicastId: workflowInfo().workflowId,
    payload: input.payload,
    contentType: input.contentType,
    delivery: input.delivery,
    ...(lost === undefined ? {} : { lost }),
    ...(marks === undefined ? {} : { marks }),
  });
  return async (cursor, token) => {
    for (;;) {
      try {
        return await pages.sendPage(pageInput(cursor, token));
      } catch (err) {
        if (isCancellation(err)) throw err;
        const wait = rejectedUnrun(input, err);
        if (wait !== null) {
          await sleep(wait);
          continue;
        }
        return run.registry.sendPage(pageInput(cursor, token, givenUpReason(input, err)));
      }
    }
  };
}

/** A page's failed targets: each channel retries its own; a target settles when every channel has. */
async function settlePage(run: MulticastRun, page: SendPageResult, token: string): Promise<void> {
  const { input, tracker } = run;
  const channels = pageChannels(run);
  const channelSends = new Map(run.channels.map(([name, send]) => [name as SendChannel, send]));
  const failed = new Set(page.failures.map((f) => f.identity));
  const retried: { identities: string[]; attempts: number[] } = { identities: [], attempts: [] };
  const settleOn = settleOnEveryChannel(
    failed,
    channels.length,
    page.attempt,
    (name, error) => (channels.length > 1 ? `${name}: ${error}` : error),
    (identity, attempts, errors) => {
      if (errors.length > 0) tracker.ledger.fail(identity, attempts, errors.join('; '));
      else {
        tracker.ledger.countDelivered(1);
        retried.identities.push(identity);
        retried.attempts.push(attempts);
      }
    },
  );
  await Promise.all(
    channels.map(async (name) => {
      const settle = settleOn(name);
      const failedHere = page.failures.filter((f) => f.channel === name);
      const failedIds = new Set(failedHere.map((f) => f.identity));
      // This channel took every failed target it is not listed for.
      for (const identity of failed) if (!failedIds.has(identity)) settle(identity, page.attempt);
      const retry: string[] = [];
      for (const f of failedHere) {
        if (f.retryable && input.retry.maxAttempts > 1) retry.push(f.identity);
        else settle(f.identity, page.attempt, f.error);
      }
      const send: SendBatch = channelSends.get(name)!;
      for (let i = 0; i < retry.length; i += input.batchSize) {
        await run.deliverVia(send, retry.slice(i, i + input.batchSize), settle, 1);
      }
    }),
  );
  if (retried.identities.length > 0) {
    await run.registry.recordDelivered({
      registry: input.registry,
      reportId: reportRowsId(),
      row: `${token}/retried`,
      ...retried,
    });
  }
}
