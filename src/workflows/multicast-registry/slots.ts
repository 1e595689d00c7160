// The multicast registry's slots: where identities live, and how messages reach them.
import { slot } from '../../sdk/slot';

export const MULTICAST_REGISTRY = 'multicast-registry';

export const multicastRegistrySlots = {
  registry: slot(['keyvalue_basic', 'keyvalue_scan'], {
    description: 'identity records (keyvalue_ttl and keyvalue_cas are used when the backend offers them)',
  }),
  messaging: slot(['pubsub_basic'], { description: 'one topic per identity: <topicPrefix><identity>' }),
  durability: slot(['queue_basic'], {
    optional: true,
    description:
      'one queue per identity (<queuePrefix><identity>) for multicasts with channel queue or both, read by each consumer at its own pace',
  }),
};
