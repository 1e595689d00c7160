// The saga pattern's slots and the names of its own slot activities. Pure: the workflow types its
// proxies with it, the declarative validator checks operations against it, the worker binds it.
import { slot } from '../../sdk/slot';

export const SAGA = 'saga';

export const sagaSlots = {
  orders: slot(['keyvalue_basic', 'keyvalue_cas', 'ledger_basic'], {
    description:
      'stock and payment ledgers, changed once per idempotency key, and order outcomes (Postgres in the example)',
  }),
  events: slot(['pubsub_basic'], { optional: true, description: 'where order events are published (Kafka)' }),
  cache: slot(['keyvalue_basic'], { optional: true, description: 'where placed orders are cached (Redis)' }),
};

export type SagaSlotName = keyof typeof sagaSlots;

/** The saga pattern's own activities per slot (registered as `saga.<slot>.<name>`). */
export const SAGA_SLOT_ACTIVITIES: { readonly [S in SagaSlotName]: readonly string[] } = {
  orders: ['reserveStock', 'releaseStock', 'charge', 'refund', 'orderOutcome', 'recordOrderOutcome'],
  events: ['publishEvent'],
  cache: ['cacheOrder', 'evictOrder'],
};
