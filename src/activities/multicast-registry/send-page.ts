// One page of a multicast as one activity on the registry slot: scan a page of the registry,
// filter, claim the matches for this multicast (its claim marks in one map per multicast where the
// registry's backend has keyvalue_hash: claim-marks.ts), send to them on every channel (a pubsub
// batch with one flush per scan call's matches when the messaging backend offers pubsub_batch, a
// publish or enqueue per target otherwise; sent while the scan goes on), record the delivered
// targets in the registry backend (the multicast's report rows), and return counts plus the failed
// targets only. The workflow's history so holds cursors and counts, never identity lists, whatever
// the registry's size.
//
// The other slots' backends are reached through their guarded handles (PatternActivityContext
// .slots), so each call still goes through its backend's breaker, bulkhead and metrics.
//
// A retry (worker crash, timeout) scans the same cursor and claims with the same token: it gets
// the same targets back and sends them again (at-least-once). When the registry's server changed
// meanwhile the retry's scan starts over and may not meet some targets an earlier attempt claimed:
// those come in later pages, which take them on (see PageClaims) and send them again, or, for
// at-most-once, account them as failed without sending. At-most-once multicasts never retry this
// activity; when it is lost, `lost` accounts the page's targets as failed, sending nothing.
//
// At-least-once, a page whose every target failed transiently on every channel (the backend is
// down) throws ChannelUnavailable, so Temporal retries it (after the breaker's wait when it is
// open) and the multicast waits instead of running through the registry meanwhile; nothing was
// delivered, so the retry sends nothing twice.
import { ApplicationFailure } from '@temporalio/common';
import type { BatchMessage, PubSubBasic, PubSubBatch, QueueBasic } from '../../drivers/capabilities';
import { isDriverError } from '../../drivers/errors';
import { MAX_BATCH_KEYS } from '../../drivers/limits';
import { BulkheadFullError, CircuitOpenError } from '../../resilience/errors';
import type { BackendHandle } from '../../sdk/backend-handle';
import type { DeliveryMode } from '../../workflows/multicast-registry/input';
import type { MarkLayout } from './claim-marks';
import { PageClaims } from './page-claims';
import type { RegistryStore, TargetClaim } from './registry-store';
import { activityContext, multicastHeaders, sendEach, type TargetFailure } from './target-batch';

export type SendChannel = 'pubsub' | 'queue';

export interface SendPageInput {
  registry: string;
  filter: Record<string, unknown>;
  cursor: string | null;
  /** Matching targets at most in this page. */
  limit: number;
  /** The multicast's claim on this page (also where its report rows go: claim.multicastId). */
  claim: TargetClaim;
  channels: SendChannel[];
  topicPrefix: string;
  queuePrefix: string;
  /** The multicast's workflow id, carried in every message's headers. */
  multicastId: string;
  payload: string;
  contentType: string;
  delivery: DeliveryMode;
  /** The page's send was lost (at-most-once, or retries exhausted): account its targets as failed for this reason. */
  lost?: string;
  /**
   * Where the multicast keeps its claim marks and page records: 'map' (one key per multicast where
   * the registry's backend has keyvalue_hash, one key per target otherwise); absent in multicasts
   * begun before, which keep one key per target to the end (see claim-marks.ts).
   */
  marks?: MarkLayout;
}

/** The failure type of a page none of whose targets any channel took (at-least-once). */
export const CHANNEL_UNAVAILABLE = 'ChannelUnavailable';

export interface PageFailure extends TargetFailure {
  channel: SendChannel;
}

export interface SendPageResult {
  cursor: string | null;
  /** Targets this page took on (claimed for this multicast). */
  targets: number;
  /** Targets every channel took. */
  delivered: number;
  /** Per channel, the targets it did not take (a target may fail on both). */
  failures: PageFailure[];
  /** This execution's attempt number. */
  attempt: number;
}

export interface PageSlots {
  messaging?: BackendHandle;
  durability?: BackendHandle;
}

function single(slot: BackendHandle | readonly BackendHandle[] | undefined): BackendHandle | undefined {
  return Array.isArray(slot) ? undefined : (slot as BackendHandle | undefined);
}

export function pageSlots(slots: Readonly<Record<string, BackendHandle | readonly BackendHandle[]>>): PageSlots {
  return { messaging: single(slots.messaging), durability: single(slots.durability) };
}

function slotFor(slots: PageSlots, channel: SendChannel): BackendHandle {
  const handle = channel === 'pubsub' ? slots.messaging : slots.durability;
  if (handle) return handle;
  throw ApplicationFailure.nonRetryable(
    `channel ${channel} needs the multicast registry's ${channel === 'pubsub' ? 'messaging' : 'durability'} slot, which this worker does not bind`,
    'DurabilityNotConfigured',
  );
}

/** What one channel did with a chunk's targets: its failures, and the first transient error. */
interface ChannelSend {
  failures: TargetFailure[];
  firstTransient: unknown;
}

/** Publishes the page: batches with one flush each when the backend has pubsub_batch. */
async function publishAll(handle: BackendHandle, identities: string[], input: SendPageInput): Promise<ChannelSend> {
  const payload = new TextEncoder().encode(input.payload);
  const headers = multicastHeaders(input);
  if (!handle.capabilities.has('pubsub_batch')) {
    const pubsub = handle as unknown as PubSubBasic;
    return sendEach(identities, input.delivery, (id) => pubsub.publish(input.topicPrefix + id, payload, headers));
  }
  const batch = handle as unknown as PubSubBatch;
  const failures: TargetFailure[] = [];
  let firstTransient: unknown;
  for (let i = 0; i < identities.length; i += MAX_BATCH_KEYS) {
    const chunk = identities.slice(i, i + MAX_BATCH_KEYS);
    const messages: BatchMessage[] = chunk.map((id) => ({ topic: input.topicPrefix + id, value: payload, headers }));
    try {
      await batch.publishBatch(messages);
    } catch (err) {
      // The batch is all or nothing for the caller: each of its targets failed the same way.
      const transient = isDriverError(err) ? err.retryable : true;
      if (transient && firstTransient === undefined) firstTransient = err;
      const error = err instanceof Error ? err.message : String(err);
      for (const identity of chunk) {
        failures.push({ identity, error, retryable: transient && input.delivery === 'at-least-once' });
      }
    }
  }
  return { failures, firstTransient };
}

async function enqueueAll(handle: BackendHandle, identities: string[], input: SendPageInput): Promise<ChannelSend> {
  const payload = new TextEncoder().encode(input.payload);
  const headers = multicastHeaders(input);
  const queue = handle as unknown as QueueBasic;
  return sendEach(identities, input.delivery, (id) => queue.enqueue(input.queuePrefix + id, payload, headers));
}

/** One scan call's matches, claimed and sent on every channel: its targets and their failures. */
interface ChunkOutcome {
  identities: string[];
  failures: PageFailure[];
  firstTransient?: unknown;
}

/** Orphans of a lost attempt at an earlier page, at-most-once: maybe delivered, so never sent again. */
function orphanFailures(orphans: string[], channels: SendChannel[]): PageFailure[] {
  const error = 'not re-sent (at-most-once), delivery unknown: claimed by an attempt at an earlier page that was lost';
  return channels.flatMap((channel) => orphans.map((identity) => ({ identity, channel, error, retryable: false })));
}

/**
 * Every target failed transiently on every channel: the backends are down. Retryable, after the
 * breaker's or bulkhead's wait when that is what refused; an ApplicationFailure, so the registry
 * backend's breaker (this activity runs under it) does not count the other backend's outage.
 */
function channelUnavailable(first: unknown, channels: SendChannel[]): ApplicationFailure {
  const wait = first instanceof CircuitOpenError || first instanceof BulkheadFullError ? first.retryAfterMs : undefined;
  return ApplicationFailure.create({
    type: CHANNEL_UNAVAILABLE,
    message: `no target of the page was taken on ${channels.join(' or ')}: ${first instanceof Error ? first.message : String(first)}`,
    nonRetryable: false,
    ...(wait === undefined ? {} : { nextRetryDelay: wait }),
  });
}

export async function sendPage(store: RegistryStore, slots: PageSlots, input: SendPageInput): Promise<SendPageResult> {
  const ctx = activityContext();
  const attempt = ctx?.info.attempt ?? 1;
  const handles = input.lost === undefined ? input.channels.map((channel) => slotFor(slots, channel)) : [];
  const claims = new PageClaims(
    store,
    input.registry,
    input.claim,
    input.lost === undefined ? String(attempt) : `lost-${attempt}`,
    input.marks,
  );
  // Each scan call's matches are claimed and sent while the scan goes on, so the registry, the
  // messaging backend and this process work at the same time. An identity the scan repeats
  // within the page goes to one chunk only (the claim token is the page's, so a second claim of
  // it would also answer "fresh").
  const taken = new Set<string>();
  const chunks: Promise<ChunkOutcome>[] = [];
  const sendChunk = async (candidates: string[]): Promise<ChunkOutcome> => {
    const { identities, orphans } = await claims.take(candidates);
    if (input.lost !== undefined || identities.length === 0) return { identities, failures: [] };
    const unsent = input.delivery === 'at-most-once' ? new Set(orphans) : new Set<string>();
    const targets = identities.filter((id) => !unsent.has(id));
    const sent = await Promise.all(
      input.channels.map(async (channel, i) => {
        const send =
          channel === 'pubsub'
            ? await publishAll(handles[i], targets, input)
            : await enqueueAll(handles[i], targets, input);
        return { ...send, failures: send.failures.map((f): PageFailure => ({ ...f, channel })) };
      }),
    );
    return {
      identities,
      failures: [...sent.flatMap((s) => s.failures), ...orphanFailures([...unsent], input.channels)],
      firstTransient: sent.find((s) => s.firstTransient !== undefined)?.firstTransient,
    };
  };
  const page = await store.enumerate(
    { registry: input.registry, filter: input.filter, limit: input.limit, cursor: input.cursor },
    {
      onProgress: (cursor) => ctx?.heartbeat({ cursor }),
      onMatches: (matched) => {
        const fresh = matched.filter((id) => !taken.has(id));
        fresh.forEach((id) => taken.add(id));
        const chunk = sendChunk(fresh);
        // Awaited below; a rejection before then must not count as unhandled.
        chunk.catch(() => undefined);
        chunks.push(chunk);
      },
    },
  );
  const outcomes = await Promise.all(chunks);
  const identities = outcomes.flatMap((o) => o.identities);
  if (input.lost !== undefined) {
    const failures = input.channels.flatMap((channel) =>
      identities.map((identity) => ({ identity, channel, error: input.lost!, retryable: false })),
    );
    await claims.finish([], attempt);
    return { cursor: page.cursor, targets: identities.length, delivered: 0, failures, attempt };
  }
  const failures = outcomes.flatMap((o) => o.failures);
  const nothingTaken =
    input.delivery === 'at-least-once' &&
    identities.length > 0 &&
    failures.length === identities.length * input.channels.length &&
    failures.every((f) => f.retryable);
  if (nothingTaken) {
    throw channelUnavailable(outcomes.find((o) => o.firstTransient !== undefined)?.firstTransient, input.channels);
  }
  const failedIds = new Set(failures.map((f) => f.identity));
  const delivered = identities.filter((id) => !failedIds.has(id));
  await claims.finish(delivered, attempt);
  return { cursor: page.cursor, targets: identities.length, delivered: delivered.length, failures, attempt };
}
