// The messaging slot's activity: publish one multicast batch, one topic per identity
// (`<topicPrefix><identity>`), and say what happened to each target (see target-batch.ts).
import type { PubSubBasic } from '../../drivers/capabilities';
import { multicastHeaders, sendToTargets, type TargetBatchInput, type TargetBatchResult } from './target-batch';

export { MULTICAST_ID_HEADER, type TargetFailure } from './target-batch';

export interface PublishBatchInput extends TargetBatchInput {
  topicPrefix: string;
}

export type PublishBatchResult = TargetBatchResult;

/** The workflow's view of these activities: its proxies are typed from this factory. */
export type MessagingActivities = ReturnType<typeof messagingActivities>;

export function messagingActivities(driver: PubSubBasic) {
  return {
    async publishBatch(input: PublishBatchInput): Promise<PublishBatchResult> {
      const payload = new TextEncoder().encode(input.payload);
      const headers = multicastHeaders(input);
      return sendToTargets(input, (identity) => driver.publish(input.topicPrefix + identity, payload, headers));
    },
  };
}
