// The session store's one slot: `shards`, a list slot naming every shard backend of every region
// (`shards: [redis-eu-0, redis-eu-1, redis-us-0]`). Which region a shard belongs to is not the
// slot's business: the store's topology (settings.regions: region → shard backends) names the
// backends, and the workflows find each backend's binding in the list.
//
// Upgrading from the numbered slots (shard_0 … shard_15): the worker refuses that form and prints
// the list to write. Let running replication and rebalance workflows finish first (a per-session
// replication workflow ends after its idle timeout): their recorded bindings name the old slots,
// which the new code does not read.
import { slot } from '../../sdk/slot';

export const SESSION_STORE = 'session-store';
/** Shard backends one worker may serve, all regions together. */
export const MAX_SHARDS = 64;

// changefeed: every write is logged with it in the shard's feed, which replication ships.
export const SHARD_CAPABILITIES = [
  'keyvalue_basic',
  'keyvalue_ttl',
  'keyvalue_scan',
  'keyvalue_cas',
  'changefeed',
] as const;
export type ShardCapability = (typeof SHARD_CAPABILITIES)[number];

export const sessionStoreSlots = {
  shards: slot.list(SHARD_CAPABILITIES, {
    min: 1,
    max: MAX_SHARDS,
    description:
      'the shard backends of every region (keyvalue with TTL, scan, CAS; a change feed), each its own backend',
  }),
};
