// An identity's inbox: the queue in the durability slot that multicasts with channel `queue` or
// `both` fill, read by the identity's consumer at its own pace. The one implementation behind the
// durability slot's receive/ack activities and the client's direct path.
import type { QueueBasic, QueueMessage } from '../../drivers/capabilities';
import { defaultQueuePrefix, type QueuedDelivery } from '../../workflows/multicast-registry/input';
import { MULTICAST_ID_HEADER } from './target-batch';

export interface InboxAddress {
  registry: string;
  identity: string;
  queuePrefix?: string;
}

export function inboxQueue(address: InboxAddress): string {
  return (address.queuePrefix ?? defaultQueuePrefix(address.registry)) + address.identity;
}

const decoder = new TextDecoder();

function toDelivery(message: QueueMessage): QueuedDelivery {
  return {
    messageId: message.messageId,
    payload: decoder.decode(message.payload),
    contentType: message.headers['content-type'] ?? 'application/octet-stream',
    multicastId: message.headers[MULTICAST_ID_HEADER] ?? null,
    deliveryCount: message.deliveryCount,
    receipt: message.receipt,
  };
}

export class Inbox {
  constructor(private readonly driver: QueueBasic) {}

  async receive(
    request: InboxAddress & { max: number; visibilityTimeoutMs: number; waitMs: number },
  ): Promise<QueuedDelivery[]> {
    const messages = await this.driver.receive(inboxQueue(request), {
      max: request.max,
      visibilityTimeoutMs: request.visibilityTimeoutMs,
      waitMs: request.waitMs,
    });
    return messages.map(toDelivery);
  }

  /** Removes a received message for good; refused (NotFound) once its visibility timeout ran out. */
  async ack(request: InboxAddress & { receipt: string }): Promise<{ acked: true }> {
    await this.driver.ack(inboxQueue(request), request.receipt);
    return { acked: true };
  }
}
