// The session store's settings (patterns.session-store.settings in the worker's YAML), which the
// client reads too: the topology of regions and their shard backends, and the store's limits.
import { z } from 'zod';
import { topologySchema } from './input';
import { DEFAULT_VIRTUAL_NODES } from './consistent-hash';

export const sessionStoreSettingsSchema = z.strictObject({
  /** region → backends of its shards (each also listed in the worker's `shards` slot). */
  regions: topologySchema.optional(),
  virtual_nodes: z.number().int().min(1).max(4096).default(DEFAULT_VIRTUAL_NODES),
  max_session_bytes: z
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  default_ttl_seconds: z
    .number()
    .int()
    .min(1)
    .default(30 * 60),
  /**
   * Only for per-session replication workflows an earlier version started: they end after this
   * long without writes. Replication now ships each shard's change feed (docs/session-store.md).
   */
  replication_idle_timeout_ms: z.number().int().min(100).default(60_000),
  /**
   * A shard's change feed keeps at most this many entries behind the slowest region's checkpoint;
   * a region further behind (a long outage) catches up by a full copy of the shard instead.
   */
  replication_feed_max_entries: z.number().int().min(1000).default(200_000),
  /**
   * How long a round of a replication workflow's shipping activity runs before it reports back
   * (its status counters are as of the last round); for the workflows the worker starts.
   */
  replication_round_seconds: z.number().int().min(1).max(3600).default(300),
});

export type SessionStoreSettings = z.output<typeof sessionStoreSettingsSchema>;
