// One multicast batch on one channel (a publish per identity, or an enqueue per identity): send to
// every target with bounded concurrency, heartbeat as targets finish, and say what happened to
// each. Shared by the messaging (pubsub) and durability (queue) activities, so both channels fail,
// retry and report the same way.
//
// Failure handling, by delivery mode:
//   at-least-once: a target whose send failed transiently comes back `retryable` and the workflow
//     retries it in a later batch. When *every* target failed transiently the backend is down: the
//     activity throws, so the breaker sees the outage and Temporal retries the batch (re-sending
//     nothing that was delivered, since nothing was).
//   at-most-once: nothing is ever re-sent; a failed send is final (a timeout may have been
//     delivered), and the activity never throws for a target's failure.
import { Context } from '@temporalio/activity';
import { isDriverError } from '../../drivers/errors';
import type { DeliveryMode } from '../../workflows/multicast-registry/input';

/** What every channel's batch activity receives. */
export interface TargetBatchInput {
  multicastId: string;
  identities: string[];
  payload: string;
  contentType: string;
  delivery: DeliveryMode;
}

export interface TargetFailure {
  identity: string;
  error: string;
  /** A transient failure the workflow may retry (at-least-once only). */
  retryable: boolean;
}

export interface TargetBatchResult {
  /** Targets not listed in `failures` were delivered. */
  failures: TargetFailure[];
  /** This execution's attempt number (1 unless Temporal retried the batch). */
  attempt: number;
}

/** Sends in flight at once inside one batch. */
const SEND_CONCURRENCY = 32;

export const MULTICAST_ID_HEADER = 'prism-multicast-id';

export function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/** The headers every delivered message carries, on either channel. */
export function multicastHeaders(input: Pick<TargetBatchInput, 'contentType' | 'multicastId'>): Record<string, string> {
  return { 'content-type': input.contentType, [MULTICAST_ID_HEADER]: input.multicastId };
}

/**
 * Sends to every identity (SEND_CONCURRENCY at a time), heartbeating as targets finish, and lists
 * the failures; never throws for a target's failure.
 */
export async function sendEach(
  identities: readonly string[],
  delivery: DeliveryMode,
  send: (identity: string) => Promise<unknown>,
): Promise<{ failures: TargetFailure[]; firstTransient: unknown }> {
  const ctx = activityContext();
  const failures: TargetFailure[] = [];
  let firstTransient: unknown;
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < identities.length) {
      const identity = identities[next++];
      try {
        await send(identity);
      } catch (err) {
        const transient = isDriverError(err) ? err.retryable : true;
        if (transient && firstTransient === undefined) firstTransient = err;
        failures.push({
          identity,
          error: err instanceof Error ? err.message : String(err),
          retryable: transient && delivery === 'at-least-once',
        });
      }
      done += 1;
      ctx?.heartbeat({ done });
    }
  };
  await Promise.all(Array.from({ length: Math.min(SEND_CONCURRENCY, identities.length) }, worker));
  return { failures, firstTransient };
}

export async function sendToTargets(
  input: TargetBatchInput,
  send: (identity: string) => Promise<unknown>,
): Promise<TargetBatchResult> {
  const ctx = activityContext();
  const { failures, firstTransient } = await sendEach(input.identities, input.delivery, send);
  const allTransient = failures.length === input.identities.length && failures.every((f) => f.retryable);
  if (input.delivery === 'at-least-once' && input.identities.length > 0 && allTransient) throw firstTransient;
  return { failures, attempt: ctx?.info.attempt ?? 1 };
}
