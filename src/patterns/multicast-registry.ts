// The multicast registry as a pattern: identities with leases in a keyvalue backend, filtered
// enumeration, and durable multicast over a pubsub backend and/or per-identity queues.
import { durabilityActivities } from '../activities/multicast-registry/durability-activities';
import { messagingActivities } from '../activities/multicast-registry/messaging-activities';
import { registryActivities } from '../activities/multicast-registry/registry-activities';
import { definePattern } from '../sdk/pattern';
import { schemaCheck } from '../sdk/input-check';
import { multicastInput, registryOperationInput } from '../workflows/multicast-registry/input';
import { MULTICAST_REGISTRY, multicastRegistrySlots } from '../workflows/multicast-registry/slots';

export const multicastRegistryPattern = definePattern({
  name: MULTICAST_REGISTRY,
  description: 'identities with TTL leases, filtered enumeration, and multicast where every target is accounted for',
  slots: multicastRegistrySlots,
  workflows: ['multicastWorkflow', 'multicastRegistryOperationWorkflow'],
  inputs: {
    multicastWorkflow: schemaCheck(multicastInput),
    multicastRegistryOperationWorkflow: schemaCheck(registryOperationInput),
  },
  slotActivities: {
    // The driver object carries its `capabilities`, so the store uses TTL/CAS/batch when offered.
    // A multicast page runs on the registry slot and sends through the other slots' guarded handles.
    registry: (driver, context) => registryActivities(driver, context.slots),
    messaging: (driver) => messagingActivities(driver),
    durability: (driver) => durabilityActivities(driver),
  },
});
