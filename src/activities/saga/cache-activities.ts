// The order example's cache activities over the `cache` slot (Redis in the example). Setting and
// deleting a key are idempotent by nature: a retry writes the same value again.
import type { Ops } from '../../drivers/capabilities';
import type { ActivityMap } from '../../sdk/pattern';
import type { CompensationReport } from '../../workflows/saga/run-saga';
import { orderKeys } from '../../workflows/saga/input';

export function cacheActivities(driver: Ops<'keyvalue_basic'>) {
  return {
    async cacheOrder(_key: string, order: { orderId: string; data: Record<string, unknown> }): Promise<void> {
      await driver.set(orderKeys.order(order.orderId), new TextEncoder().encode(JSON.stringify(order.data)));
    },
    /** Skipped when no cached order was there to evict. */
    async evictOrder(_key: string, order: { orderId: string }): Promise<CompensationReport | undefined> {
      const key = orderKeys.order(order.orderId);
      return (await driver.delete(key)) ? undefined : { skipped: `nothing to undo: ${key} was not cached` };
    },
  } satisfies ActivityMap;
}

/** The cache slot's activities, as the order workflow's typed proxy sees them. */
export type CacheActivities = ReturnType<typeof cacheActivities>;
