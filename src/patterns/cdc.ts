// Change data capture: Postgres changes (logical replication, or a transactional outbox table)
// captured, filtered, transformed and delivered to Kafka or NATS by one long-running workflow per
// pipeline, acknowledging a source position only after the sink accepted everything before it.
import { sinkActivities } from '../activities/cdc/sink-activities';
import { sourceActivities } from '../activities/cdc/source-activities';
import { cdcSettingsSchema } from '../workflows/cdc/settings';
import { definePattern } from '../sdk/pattern';
import { schemaCheck } from '../sdk/input-check';
import { cdcPipelineInput } from '../workflows/cdc/input';
import { CDC, cdcSlots } from '../workflows/cdc/slots';

export const cdcPattern = definePattern({
  name: CDC,
  description: 'streams Postgres row changes (or outbox rows) to Kafka or NATS, at least once, in order per key',
  slots: cdcSlots,
  workflows: ['cdcPipelineWorkflow'],
  inputs: { cdcPipelineWorkflow: schemaCheck(cdcPipelineInput) },
  settingsSchema: cdcSettingsSchema,
  slotActivities: {
    source: (driver, context) => ({ ...sourceActivities(driver, context) }),
    sink: (driver, context) => ({ ...sinkActivities(driver, context) }),
  },
});
