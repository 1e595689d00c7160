// The order example's event activity over the `events` slot (Kafka in the example). A broker
// cannot tell a retried publish from a new one, so delivery is at least once: every message
// carries its idempotency key as a header for consumers to drop duplicates by.
import type { Ops } from '../../drivers/capabilities';
import type { ActivityMap } from '../../sdk/pattern';
import type { OrderEvent } from '../../workflows/saga/input';

export const IDEMPOTENCY_HEADER = 'idempotency-key';

export function eventsActivities(driver: Ops<'pubsub_basic'>) {
  return {
    async publishEvent(key: string, event: OrderEvent): Promise<{ messageId: string }> {
      const body = { type: event.type, orderId: event.orderId, ...(event.data ?? {}) };
      const sent = await driver.publish(event.topic, new TextEncoder().encode(JSON.stringify(body)), {
        [IDEMPOTENCY_HEADER]: `${key}:${event.type}`,
        'event-type': event.type,
      });
      return sent;
    },
  } satisfies ActivityMap;
}

/** The events slot's activities, as the order workflow's typed proxy sees them. */
export type EventsActivities = ReturnType<typeof eventsActivities>;
