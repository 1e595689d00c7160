// The durability slot's activities (`multicast-registry.durability.<name>`): enqueue one multicast
// batch, one queue per identity (`<queuePrefix><identity>`), with the same per-target accounting
// as a publish (target-batch.ts); and the consumer's receive/ack for the operation workflow.
import type { QueueBasic } from '../../drivers/capabilities';
import type { ActivityMap } from '../../sdk/pattern';
import type { QueuedDelivery } from '../../workflows/multicast-registry/input';
import { Inbox, type InboxAddress } from './inbox';
import { multicastHeaders, sendToTargets, type TargetBatchInput, type TargetBatchResult } from './target-batch';

export interface EnqueueBatchInput extends TargetBatchInput {
  queuePrefix: string;
}

export interface DurabilityActivities {
  enqueueBatch(input: EnqueueBatchInput): Promise<TargetBatchResult>;
  receive(
    input: InboxAddress & { max: number; visibilityTimeoutMs: number; waitMs: number },
  ): Promise<QueuedDelivery[]>;
  ack(input: InboxAddress & { receipt: string }): Promise<{ acked: true }>;
}

export function durabilityActivities(driver: QueueBasic): DurabilityActivities & ActivityMap {
  const inbox = new Inbox(driver);
  return {
    async enqueueBatch(input) {
      const payload = new TextEncoder().encode(input.payload);
      const headers = multicastHeaders(input);
      return sendToTargets(input, (identity) => driver.enqueue(input.queuePrefix + identity, payload, headers));
    },
    receive: (input) => inbox.receive(input),
    ack: (input) => inbox.ack(input),
  };
}
