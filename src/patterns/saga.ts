// The saga pattern: the order example's activities on its three slots, the order saga, its
// saga-less baseline and the interpreter of declarative sagas.
import { orderCacheActivities } from '../activities/saga/order-cache';
import { orderEventActivities } from '../activities/saga/order-events';
import { orderLedgerActivities } from '../activities/saga/order-orders';
import { definePattern } from '../sdk/pattern';
import { SAGA, sagaSlots } from '../workflows/saga/slots';

export const sagaPattern = definePattern({
  name: SAGA,
  description: 'steps with compensations, run forward or undone in reverse; typed or declarative',
  slots: sagaSlots,
  workflows: ['orderSagaWorkflow', 'orderPlainWorkflow', 'declarativeSagaWorkflow'],
  slotActivities: {
    orders: (driver) => orderLedgerActivities(driver),
    events: (driver) => orderEventActivities(driver),
    cache: (driver) => orderCacheActivities(driver),
  },
});
