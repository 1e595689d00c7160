// The saga pattern: the order example's activities on its three slots, the order saga, its
// saga-less baseline and the interpreter of declarative sagas.
import { cacheActivities } from '../activities/saga/cache-activities';
import { eventsActivities } from '../activities/saga/events-activities';
import { ordersActivities } from '../activities/saga/orders-activities';
import { sagaSettingsSchema, type SagaSettings } from '../workflows/saga/settings';
import { definePattern } from '../sdk/pattern';
import { schemaCheck } from '../sdk/input-check';
import { validateDefinition } from '../workflows/saga/definition';
import { orderSagaInput } from '../workflows/saga/input';
import { SAGA, sagaSlots } from '../workflows/saga/slots';

const HOUR_MS = 3_600_000;

export const sagaPattern = definePattern<typeof sagaSlots, SagaSettings>({
  name: SAGA,
  description: 'steps with compensations, run forward or undone in reverse; typed or declarative',
  slots: sagaSlots,
  workflows: ['orderSagaWorkflow', 'orderPlainWorkflow', 'declarativeSagaWorkflow'],
  inputs: {
    orderSagaWorkflow: schemaCheck(orderSagaInput),
    orderPlainWorkflow: schemaCheck(orderSagaInput),
    // The definition is checked against the input its templates read, as the workflow does.
    declarativeSagaWorkflow: (raw, root) => {
      if (raw === null || typeof raw !== 'object') return [`${root}: expected an object { definition, input }`];
      const { definition, input } = raw as { definition?: unknown; input?: unknown };
      return validateDefinition(definition, input ?? {}, `${root}.definition`).problems;
    },
  },
  settingsSchema: sagaSettingsSchema,
  slotActivities: {
    orders: (driver, context) => ordersActivities(driver, context.settings.idempotency_retention),
    events: (driver) => eventsActivities(driver),
    cache: (driver) => cacheActivities(driver),
  },
  // A saga retried or re-submitted while Temporal still shows its first run must not apply again:
  // change ids and outcomes are kept at least as long as the namespace keeps workflow histories.
  checkNamespace: ({ settings, namespace, workflowRetentionMs }) =>
    workflowRetentionMs !== null && settings.idempotency_retention < workflowRetentionMs
      ? [
          `settings.idempotency_retention: ${settings.idempotency_retention / HOUR_MS} h is shorter than the ` +
            `workflow retention of namespace "${namespace}" (${workflowRetentionMs / HOUR_MS} h); ` +
            `set it to at least ${Math.ceil(workflowRetentionMs / HOUR_MS)}h`,
        ]
      : [],
});
