// The order example's cache activities over the `cache` slot (Redis in the example). Setting and
// deleting a key are idempotent by nature: a retry writes the same value again.
import type { Ops } from '../../drivers/capabilities';
import type { ActivityMap } from '../../sdk/pattern';
import { orderKeys, type CacheActivities, type Fault } from '../../workflows/saga/order-types';
import { failIfInjected, pauseIfInjected } from './faults';

export function orderCacheActivities(driver: Ops<'keyvalue_basic'>): ActivityMap {
  const activities: CacheActivities = {
    async cacheOrder(key, order, fault?: Fault) {
      failIfInjected(fault, key, 'cacheOrder');
      await driver.set(orderKeys.order(order.orderId), new TextEncoder().encode(JSON.stringify(order.data)));
      await pauseIfInjected(fault);
    },
    async evictOrder(key, order, fault?: Fault) {
      failIfInjected(fault, key, 'evictOrder');
      await driver.delete(orderKeys.order(order.orderId));
      await pauseIfInjected(fault);
    },
  };
  return { ...activities };
}
