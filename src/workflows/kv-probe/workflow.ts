// The walking skeleton: write a value through the `store` slot, read it back, return both.
// Two activities on the store's backend task queue, each with the slot's retry policy.
import { upsertSearchAttributes } from '@temporalio/workflow';
import { utf8 } from '../../common/base64';
import { parseInput } from '../input';
import { PRISM_PATTERN, PRISM_STATUS } from '../search-attributes';
import { bindSlots, useSlot } from '../slots';
import { KV_PROBE, kvProbeSlots } from './slots';
import { kvProbeInput, type KvProbeInput, type KvProbeResult } from './input';

export async function kvProbeWorkflow(rawInput: KvProbeInput): Promise<KvProbeResult> {
  const input = parseInput(kvProbeInput, rawInput);
  const slots = await bindSlots(KV_PROBE);
  const store = useSlot(slots.store, kvProbeSlots.store);
  upsertSearchAttributes([
    { key: PRISM_PATTERN, value: KV_PROBE },
    { key: PRISM_STATUS, value: 'running' },
  ]);

  await store.set(input.key, utf8.encode(input.value));
  const read = await store.get(input.key);

  upsertSearchAttributes([{ key: PRISM_STATUS, value: 'completed' }]);
  return {
    key: input.key,
    written: input.value,
    readBack: read === null ? null : utf8.decode(read),
    backend: slots.store.backend,
  };
}
