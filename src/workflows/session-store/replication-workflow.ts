// sessionReplicationWorkflow: one per session (id session-replication-<sessionId>), fed by a
// signal after every committed write. For each other region it copies the session's record from
// the region the write committed in and merges it in with compare-and-set (last writer wins per
// key by (timestamp, region)), so replicas converge whatever the order of arrival. Each target
// region has its own loop: a region that is down only holds up itself, its activities retry with
// the slot's policy (and its breaker), and it catches up from the origin's current record when it
// returns. Ends after a quiet period; continues as new when the history grows.
import {
  ApplicationFailure,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { INVALID_INPUT, parseInput } from '../input';
import { PRISM_PATTERN, PRISM_STATUS } from '../search-attributes';
import { bindSlots, useSlotActivities } from '../slots';
import type { SlotBinding } from '../../sdk/slot';
import { HashRing } from './consistent-hash';
import {
  REPLICATION_STATUS_QUERY,
  replicationInput,
  SESSION_CHANGED_SIGNAL,
  type ReplicationInput,
  type ReplicationStatus,
  type SessionChanged,
} from './input';
import type { ShardsActivities } from '../../activities/session-store/shards-activities';
import { SESSION_STORE, sessionStoreSlots } from './slots';

export const sessionChangedSignal = defineSignal<[SessionChanged]>(SESSION_CHANGED_SIGNAL);
export const replicationStatusQuery = defineQuery<ReplicationStatus>(REPLICATION_STATUS_QUERY);

/** Rounds (one origin copied to one region) before continuing as new, whatever the history says. */
const MAX_ROUNDS_PER_RUN = 400;

export async function sessionReplicationWorkflow(rawInput: ReplicationInput): Promise<ReplicationStatus> {
  const input = parseInput(replicationInput, rawInput);
  const { shards } = await bindSlots(SESSION_STORE, sessionStoreSlots);
  const byBackend = new Map<string, SlotBinding>(shards.map((b) => [b.backend, b]));
  const regions = Object.keys(input.regions).sort();
  const shardOf = new Map<string, SlotBinding>();
  for (const region of regions) {
    for (const backend of input.regions[region]) {
      if (!byBackend.has(backend)) {
        throw ApplicationFailure.nonRetryable(
          `input.regions.${region}: backend "${backend}" is not in the shards slot of ${SESSION_STORE} on this worker`,
          INVALID_INPUT,
        );
      }
    }
    const ring = new HashRing(input.regions[region], input.virtualNodes);
    shardOf.set(region, byBackend.get(ring.shardFor(input.sessionId))!);
  }
  const activitiesOf = (region: string) => useSlotActivities<ShardsActivities>(shardOf.get(region)!);

  const pending = new Map<string, Set<string>>(regions.map((r) => [r, new Set(input.pending[r] ?? [])]));
  const busy = new Set<string>();
  const status: ReplicationStatus = {
    sessionId: input.sessionId,
    latestWrite: null,
    regions: Object.fromEntries(
      regions.map((r) => [r, { appliedUpTo: null, lagSeconds: null, maxLagSeconds: 0, pending: false, rounds: 0 }]),
    ),
  };
  let rounds = 0;
  let draining = false;

  setHandler(sessionChangedSignal, ({ region, ts }) => {
    if (!pending.has(region)) return; // a region this topology does not know: nothing to copy from
    status.latestWrite = Math.max(status.latestWrite ?? 0, ts);
    // The origin has its own write; it counts as applied there.
    const own = status.regions[region];
    own.appliedUpTo = Math.max(own.appliedUpTo ?? 0, ts);
    for (const target of regions) if (target !== region) pending.get(target)!.add(region);
  });
  setHandler(replicationStatusQuery, () => {
    for (const r of regions) status.regions[r].pending = pending.get(r)!.size > 0 || busy.has(r);
    return status;
  });

  upsertSearchAttributes([
    { key: PRISM_PATTERN, value: SESSION_STORE },
    { key: PRISM_STATUS, value: 'replicating' },
  ]);

  const publish = (): void => {
    const lag: Record<string, number | null> = {};
    for (const r of regions) lag[r] = status.regions[r].lagSeconds;
    upsertMemo({ replicationLagSeconds: lag });
  };

  async function replicateTo(target: string): Promise<void> {
    for (;;) {
      await condition(() => draining || pending.get(target)!.size > 0);
      if (draining) return;
      const origins = [...pending.get(target)!].sort();
      pending.get(target)!.clear();
      busy.add(target);
      try {
        for (const origin of origins) {
          const record = await activitiesOf(origin).readRecord(input.sessionId);
          rounds++;
          if (record === null) continue; // expired or never written there: nothing to carry
          const applied = await activitiesOf(target).applyRecord(record, target);
          const s = status.regions[target];
          s.rounds++;
          s.appliedUpTo = Math.max(s.appliedUpTo ?? 0, applied.latestTs);
          if (applied.changed) {
            s.lagSeconds = applied.lagSeconds;
            s.maxLagSeconds = Math.max(s.maxLagSeconds, applied.lagSeconds);
          }
        }
      } finally {
        busy.delete(target);
      }
      publish();
    }
  }

  const loops = regions.map((r) => replicateTo(r));
  for (;;) {
    const active = await condition(
      () => busy.size > 0 || [...pending.values()].some((p) => p.size > 0),
      input.idleTimeoutMs,
    );
    if (!active) break;
    // Let the loops drain what is there (or the history grow long), then decide again.
    const tooLong = (): boolean => rounds >= MAX_ROUNDS_PER_RUN || workflowInfo().continueAsNewSuggested;
    await condition(() => tooLong() || (busy.size === 0 && [...pending.values()].every((p) => p.size === 0)));
    if (tooLong()) {
      draining = true;
      await Promise.all(loops);
      const carry: Record<string, string[]> = {};
      for (const [r, p] of pending) if (p.size > 0) carry[r] = [...p];
      await continueAsNew<typeof sessionReplicationWorkflow>({ ...input, pending: carry });
    }
  }
  draining = true;
  await Promise.all(loops);
  upsertSearchAttributes([{ key: PRISM_STATUS, value: 'in-sync' }]);
  return status;
}
