// The session store as a pattern: one list slot of shard backends (any region), the replication
// workflow and the rebalance workflow. Reads and single-key writes do not run here: they take the
// client's fast path (src/client/session-store.ts), through the same breakers and bulkheads.
//
//   patterns:
//     session-store:
//       slots: { shards: [redis-eu-0, redis-eu-1, redis-us-0] }
//       settings:
//         regions: { eu: [redis-eu-0, redis-eu-1], us: [redis-us-0] }
//         max_session_bytes: 1048576   # backends' limits.maxValueBytes must allow it
//         default_ttl_seconds: 1800
import { replicaActivities } from '../activities/session-store/replica-activities';
import type { SessionShardOps } from '../activities/session-store/session-shard';
import { definePattern, type PatternActivityContext } from '../sdk/pattern';
import { sessionStoreSettingsSchema, type SessionStoreSettings } from '../workflows/session-store/settings';
import { SESSION_STORE, sessionStoreSlots } from '../workflows/session-store/slots';

export const sessionStorePattern = definePattern<typeof sessionStoreSlots, SessionStoreSettings>({
  name: SESSION_STORE,
  description: 'sessions with sliding TTL, sharded by consistent hashing, replicated across regions',
  slots: sessionStoreSlots,
  workflows: ['sessionReplicationWorkflow', 'sessionRebalanceWorkflow'],
  settingsSchema: sessionStoreSettingsSchema,
  // Once per element of the list: each shard backend gets its own, on its own task queue.
  slotActivities: {
    shards: (driver: SessionShardOps, context: PatternActivityContext<SessionStoreSettings>) =>
      replicaActivities(driver, context.backend),
  },
  // Every region's backend must be a shard on this worker, or its replication would fail later.
  checkConfig: ({ settings, slots }) => {
    const shards = new Set(slots.shards === undefined ? [] : [slots.shards].flat());
    return Object.entries(settings.regions ?? {}).flatMap(([region, backends]) =>
      backends.flatMap((backend, i) =>
        shards.has(backend)
          ? []
          : [
              `settings.regions.${region}[${i}]: backend "${backend}" is not in slots.shards ` +
                `(${[...shards].join(', ') || 'empty'}); list it there too`,
            ],
      ),
    );
  },
});
