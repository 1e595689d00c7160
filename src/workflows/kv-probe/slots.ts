// The walking skeleton's one slot: somewhere to write and read a value.
import { slot } from '../../sdk/slot';

export const kvProbeSlots = {
  store: slot(['keyvalue_basic'], { description: 'where the probe writes and reads its value' }),
};

export const KV_PROBE = 'kv-probe';
