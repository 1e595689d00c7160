// The durability slot's activities (`multicast-registry.durability.<name>`): enqueue one multicast
// batch, one queue per identity (`<queuePrefix><identity>`), with the same per-target accounting
// as a publish (target-batch.ts); and the consumer's receive/ack for the operation workflow.
import type { QueueBasic } from '../../drivers/capabilities';
import type { QueuedDelivery } from '../../workflows/multicast-registry/input';
import { Inbox, type InboxAddress } from './inbox';
import { multicastHeaders, sendToTargets, type TargetBatchInput, type TargetBatchResult } from './target-batch';

export interface EnqueueBatchInput extends TargetBatchInput {
  queuePrefix: string;
}

/** The workflow's view of these activities: its proxies are typed from this factory. */
export type DurabilityActivities = ReturnType<typeof durabilityActivities>;

export function durabilityActivities(driver: QueueBasic) {
  const inbox = new Inbox(driver);
  return {
    async enqueueBatch(input: EnqueueBatchInput): Promise<TargetBatchResult> {
      const payload = new TextEncoder().encode(input.payload);
      const headers = multicastHeaders(input);
      return sendToTargets(input, (identity) => driver.enqueue(input.queuePrefix + identity, payload, headers));
    },
    receive: (
      input: InboxAddress & { max: number; visibilityTimeoutMs: number; waitMs: number },
    ): Promise<QueuedDelivery[]> => inbox.receive(input),
    ack: (input: InboxAddress & { receipt: string }): Promise<{ acked: true }> => inbox.ack(input),
  };
}
