// The order example's cache activities over the `cache` slot (Redis in the example). Setting and
// deleting a key are idempotent by nature: a retry writes the same value again.
import type { Ops } from '../../drivers/capabilities';
import type { ActivityMap } from '../../sdk/pattern';
import { orderKeys, type CacheActivities } from '../../workflows/saga/order-types';

export function orderCacheActivities(driver: Ops<'keyvalue_basic'>): ActivityMap {
  const activities: CacheActivities = {
    async cacheOrder(_key, order) {
      await driver.set(orderKeys.order(order.orderId), new TextEncoder().encode(JSON.stringify(order.data)));
    },
    async evictOrder(_key, order) {
      const key = orderKeys.order(order.orderId);
      return (await driver.delete(key)) ? undefined : { skipped: `nothing to undo: ${key} was not cached` };
    },
  };
  return { ...activities };
}
