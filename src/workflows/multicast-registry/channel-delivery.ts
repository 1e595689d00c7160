// How a multicast sends a batch of targets on its channels from the workflow: one activity per
// batch and channel, each channel retrying its own transiently failed targets per the input's
// policy, so a retry never sends a target twice on a channel that took it. Used for every batch
// of the pre-pages multicast and for the failed targets of a page.
import { ActivityFailure, ApplicationFailure, sleep } from '@temporalio/workflow';
import type { DurabilityActivities } from '../../activities/multicast-registry/durability-activities';
import type { MessagingActivities } from '../../activities/multicast-registry/messaging-activities';
import type { TargetBatchInput, TargetBatchResult } from '../../activities/multicast-registry/target-batch';
import type { SlotBinding } from '../../sdk/slot';
import { activityOptions, useSlotActivities } from '../slots';
import { defaultQueuePrefix, defaultTopicPrefix, type MulticastOptions } from './input';

/** One channel's send of a batch: the activity behind `pubsub` or `queue`. */
export type SendBatch = (identities: string[]) => Promise<TargetBatchResult>;

/** A channel by name and how it sends a batch. */
export type ChannelSender = [name: string, send: SendBatch];

/** How a target ended on one channel; `error` is set when it failed there for good. */
export type Settle = (identity: string, attempts: number, error?: string) => void;

/**
 * For targets sent on several channels: one Settle per channel, and a target settles (`settled`,
 * with the most attempts any channel made and each channel's error as `describe` words it) once
 * every channel has settled it.
 */
export function settleOnEveryChannel(
  identities: Iterable<string>,
  channels: number,
  attempts: number,
  describe: (channel: string, error: string) => string,
  settled: (identity: string, attempts: number, errors: string[]) => void,
): (channel: string) => Settle {
  const outcome = new Map<string, { left: number; attempts: number; errors: string[] }>();
  for (const identity of identities) outcome.set(identity, { left: channels, attempts, errors: [] });
  return (channel) => (identity, attempts, error) => {
    const o = outcome.get(identity)!;
    o.left -= 1;
    o.attempts = Math.max(o.attempts, attempts);
    if (error !== undefined) o.errors.push(describe(channel, error));
    if (o.left === 0) settled(identity, o.attempts, o.errors);
  };
}

/** One channel's attempts at a batch; `prior`: tries already made (a page's send). */
export type DeliverVia = (send: SendBatch, batch: string[], settle: Settle, prior?: number) => Promise<void>;

const BREAKER_REJECTIONS = new Set(['CircuitOpen', 'BulkheadFull']);

export function failureReason(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return `${err.cause.name}: ${err.cause.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** Why a send that gave up failed its targets; at-most-once never sends them again. */
export function givenUpReason(input: MulticastOptions, err: unknown): string {
  return input.delivery === 'at-most-once'
    ? `not re-sent (at-most-once), delivery unknown: ${failureReason(err)}`
    : failureReason(err);
}

/**
 * A breaker or bulkhead rejection of an at-most-once send: the activity never ran, so nothing was
 * published and it may be tried again after the returned wait (ms). Null for anything else.
 */
export function rejectedUnrun(input: MulticastOptions, err: unknown): number | null {
  if (input.delivery !== 'at-most-once') return null;
  if (!(err instanceof ActivityFailure) || !(err.cause instanceof ApplicationFailure)) return null;
  if (!err.cause.type || !BREAKER_REJECTIONS.has(err.cause.type)) return null;
  const details = err.cause.details?.[0] as { retryAfterMs?: number } | undefined;
  return details?.retryAfterMs ?? 1000;
}

/** Activity options for sends: at-most-once, a send that ran is never run again. */
export function sendOptions(input: MulticastOptions, binding: SlotBinding) {
  const options = activityOptions(binding, { startToCloseTimeout: '10m' });
  return input.delivery === 'at-most-once' ? { ...options, retry: { ...options.retry, maximumAttempts: 1 } } : options;
}

/** The input's channels, each as the activity that sends a batch on it (no command is issued). */
export function channelSenders(
  input: MulticastOptions,
  multicastId: string,
  messaging: SlotBinding,
  durability: SlotBinding | undefined,
): ChannelSender[] {
  const common = (identities: string[]): TargetBatchInput => ({
    multicastId,
    identities,
    payload: input.payload,
    contentType: input.contentType,
    delivery: input.delivery,
  });
  const channels: ChannelSender[] = [];
  if (input.channel !== 'queue') {
    const sender = useSlotActivities<MessagingActivities>(messaging, sendOptions(input, messaging));
    const topicPrefix = input.topicPrefix ?? defaultTopicPrefix(input.registry);
    channels.push(['pubsub', (identities) => sender.publishBatch({ ...common(identities), topicPrefix })]);
  }
  if (durability) {
    const sender = useSlotActivities<DurabilityActivities>(durability, sendOptions(input, durability));
    const queuePrefix = input.queuePrefix ?? defaultQueuePrefix(input.registry);
    channels.push(['queue', (identities) => sender.enqueueBatch({ ...common(identities), queuePrefix })]);
  }
  return channels;
}

/** One channel's attempts at a batch: retries its own transient failures, settles every target once. */
export function channelDelivery(input: MulticastOptions): DeliverVia {
  const backoff = (tries: number): number =>
    Math.min(input.retry.maxIntervalMs, input.retry.initialIntervalMs * input.retry.backoffCoefficient ** (tries - 1));

  return async (send, batch, settle, prior = 0) => {
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
        const wait = rejectedUnrun(input, err);
        if (wait !== null) {
          tries -= 1;
          await sleep(wait);
          continue;
        }
        // The batch gave up (retries exhausted, or at-most-once and interrupted): final for these.
        const reason = givenUpReason(input, err);
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
}
