// The walking skeleton as a pattern: one keyvalue slot, one workflow.
import { definePattern } from '../sdk/pattern';
import { schemaCheck } from '../sdk/input-check';
import { kvProbeInput } from '../workflows/kv-probe/input';
import { KV_PROBE, kvProbeSlots } from '../workflows/kv-probe/slots';

export const kvProbePattern = definePattern({
  name: KV_PROBE,
  description: 'writes a value through a keyvalue slot and reads it back',
  slots: kvProbeSlots,
  workflows: ['kvProbeWorkflow'],
  inputs: { kvProbeWorkflow: schemaCheck(kvProbeInput) },
});
