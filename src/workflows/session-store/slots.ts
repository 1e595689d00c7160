// The session store's slots. A pattern's slots are fixed names and a slot binds one backend, so the
// shards of every region are declared as optional slots shard_0 … shard_15; which region a shard
// belongs to is not the slot's business: the store's topology (region → shard backends) names the
// backends, and the replication workflow finds each backend's slot in its bindings.
import { slot, type SlotSpec } from '../../sdk/slot';

export const SESSION_STORE = 'session-store';
export const MAX_SHARD_SLOTS = 16;

export const SHARD_CAPABILITIES = ['keyvalue_basic', 'keyvalue_ttl', 'keyvalue_scan', 'keyvalue_cas'] as const;
export type ShardCapability = (typeof SHARD_CAPABILITIES)[number];

export const shardSlotNames: readonly string[] = Array.from({ length: MAX_SHARD_SLOTS }, (_, i) => `shard_${i}`);

export const sessionStoreSlots: Record<string, SlotSpec<ShardCapability>> = Object.fromEntries(
  shardSlotNames.map((name) => [
    name,
    slot(SHARD_CAPABILITIES, { optional: true, description: 'one shard of one region (keyvalue with TTL, scan, CAS)' }),
  ]),
);
