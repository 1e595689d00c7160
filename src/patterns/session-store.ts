// The session store as a pattern: one list slot of shard backends (any region), the replication
// workflows and the rebalance workflow. Reads and single-key writes do not run here: they take the
// client's fast path (src/client/session-store.ts), through the same breakers and bulkheads; a
// write is logged in its shard's change feed, which sessionFeedReplicationWorkflow ships to every
// other region (one per shard and region, started by the worker at start-up when the settings
// name the regions). docs/session-store.md tells the whole story.
//
//   patterns:
//     session-store:
//       slots: { shards: [redis-eu-0, redis-eu-1, redis-us-0] }
//       settings:
//         regions: { eu: [redis-eu-0, redis-eu-1], us: [redis-us-0] }
//         max_session_bytes: 1048576   # backends' limits.maxValueBytes must allow it
//         default_ttl_seconds: 1800
import { shardsActivities } from '../activities/session-store/shards-activities';
import type { SessionShardOps } from '../activities/session-store/session-shard';
import { definePattern, type PatternActivityContext } from '../sdk/pattern';
import { schemaCheck } from '../sdk/input-check';
import { feedReplicationInput, rebalanceInput, replicationInput } from '../workflows/session-store/input';
import { sessionStoreSettingsSchema, type SessionStoreSettings } from '../workflows/session-store/settings';
import { SESSION_STORE, SHARD_CAPABILITIES, sessionStoreSlots } from '../workflows/session-store/slots';
import { startFeedReplication } from './session-store-feeds';

export const sessionStorePattern = definePattern<typeof sessionStoreSlots, SessionStoreSettings>({
  name: SESSION_STORE,
  description: 'sessions with sliding TTL, sharded by consistent hashing, replicated across regions',
  slots: sessionStoreSlots,
  // sessionReplicationWorkflow (one per session, fed by a signal per write) is no longer started;
  // it stays registered so runs started by an earlier version finish (they end when idle).
  workflows: ['sessionFeedReplicationWorkflow', 'sessionReplicationWorkflow', 'sessionRebalanceWorkflow'],
  inputs: {
    sessionFeedReplicationWorkflow: schemaCheck(feedReplicationInput),
    sessionReplicationWorkflow: schemaCheck(replicationInput),
    sessionRebalanceWorkflow: schemaCheck(rebalanceInput),
  },
  settingsSchema: sessionStoreSettingsSchema,
  // Once per element of the list: each shard backend gets its own, on its own task queue.
  slotActivities: {
    shards: (driver: SessionShardOps, context: PatternActivityContext<SessionStoreSettings>) =>
      shardsActivities(driver, context.backend, {
        // Another shard (of any region) through its own guard: a dead target trips its breaker, not ours.
        peer: (backend) => {
          const handle = [context.slots.shards ?? []].flat().find((h) => h.backend === backend);
          const ok = handle !== undefined && SHARD_CAPABILITIES.every((c) => handle.capabilities.has(c));
          return ok ? (handle as unknown as SessionShardOps) : undefined;
        },
        retainEntries: () => context.settings.replication_feed_max_entries,
      }),
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
  onWorkerStart: async ({ settings, client, taskQueue }) => {
    if (!settings.regions || Object.keys(settings.regions).length < 2) return;
    const topology = { regions: settings.regions, virtualNodes: settings.virtual_nodes };
    const regions = Object.keys(settings.regions);
    await startFeedReplication(client, taskQueue, topology, regions, settings.replication_round_seconds * 1000);
  },
});
