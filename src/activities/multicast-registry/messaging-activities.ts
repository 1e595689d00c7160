// The messaging slot's activity: publish one multicast batch, one topic per identity, and say
// what happened to each target.
//
// Failure handling, by delivery mode:
//   at-least-once: a target whose publish failed transiently comes back `retryable` and the
//     workflow retries it in a later batch. When *every* target failed transiently the backend is
//     down: the activity throws, so the breaker sees the outage and Temporal retries the batch
//     (re-publishing nothing that was delivered, since nothing was).
//   at-most-once: nothing is ever re-sent; a failed publish is final (a timeout may have been
//     delivered), and the activity never throws for a target's failure.
import { Context } from '@temporalio/activity';
import type { PubSubBasic } from '../../drivers/capabilities';
import { isDriverError } from '../../drivers/errors';
import type { ActivityMap } from '../../sdk/pattern';
import type { DeliveryMode } from '../../workflows/multicast-registry/input';

export interface PublishBatchInput {
  multicastId: string;
  topicPrefix: string;
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

export interface PublishBatchResult {
  /** Targets not listed in `failures` were delivered. */
  failures: TargetFailure[];
  /** This execution's attempt number (1 unless Temporal retried the batch). */
  attempt: number;
}

export interface MessagingActivities {
  publishBatch(input: PublishBatchInput): Promise<PublishBatchResult>;
}

/** Publishes in flight at once inside one batch. */
const PUBLISH_CONCURRENCY = 32;

export const MULTICAST_ID_HEADER = 'prism-multicast-id';

function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

export function messagingActivities(driver: PubSubBasic): MessagingActivities & ActivityMap {
  return {
    async publishBatch(input) {
      const ctx = activityContext();
      const payload = new TextEncoder().encode(input.payload);
      const headers = { 'content-type': input.contentType, [MULTICAST_ID_HEADER]: input.multicastId };
      const failures: TargetFailure[] = [];
      let firstTransient: unknown;
      let next = 0;
      let done = 0;
      const worker = async (): Promise<void> => {
        while (next < input.identities.length) {
          const identity = input.identities[next++];
          try {
            await driver.publish(input.topicPrefix + identity, payload, headers);
          } catch (err) {
            const transient = isDriverError(err) ? err.retryable : true;
            if (transient && firstTransient === undefined) firstTransient = err;
            failures.push({
              identity,
              error: err instanceof Error ? err.message : String(err),
              retryable: transient && input.delivery === 'at-least-once',
            });
          }
          done += 1;
          ctx?.heartbeat({ done });
        }
      };
      await Promise.all(Array.from({ length: Math.min(PUBLISH_CONCURRENCY, input.identities.length) }, worker));
      const allTransient = failures.length === input.identities.length && failures.every((f) => f.retryable);
      if (input.delivery === 'at-least-once' && input.identities.length > 0 && allTransient) throw firstTransient;
      return { failures, attempt: ctx?.info.attempt ?? 1 };
    },
  };
}
