// sessionRebalanceWorkflow: after a shard is added to a region, moves the sessions whose place
// changed (about 1/N of them) from the old ring to the new one, a page at a time per old shard:
// read the page's moving records, merge them into their new shards (compare-and-set, last writer
// wins per key), then delete them from the old shard. Progress is a query and PrismProgress.
//
// Why no write is lost: clients already use the new topology with the old one as a fallback (the
// SessionStore's previousRegions): a client that finds a session only at its old place moves it
// itself (the same merge-then-delete) before writing at the new place. So nobody writes at an old
// place during the move, and merging a stale copy over newer writes never undoes them.
import { continueAsNew, defineQuery, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { ApplicationFailure } from '@temporalio/common';
import { INVALID_INPUT, parseInput } from '../input';
import { PRISM_PATTERN, PRISM_PROGRESS, PRISM_STATUS } from '../search-attributes';
import { bindSlots, useSlotActivities } from '../slots';
import type { SlotBinding } from '../../sdk/slot';
import { HashRing } from './consistent-hash';
import { REBALANCE_PROGRESS_QUERY, rebalanceInput, type RebalanceInput, type RebalanceProgress } from './input';
import type { ShardsActivities } from '../../activities/session-store/shards-activities';
import { SESSION_STORE, sessionStoreSlots } from './slots';

export const rebalanceProgressQuery = defineQuery<RebalanceProgress>(REBALANCE_PROGRESS_QUERY);

const PAGES_PER_RUN = 200;

export async function sessionRebalanceWorkflow(rawInput: RebalanceInput): Promise<RebalanceProgress> {
  const input = parseInput(rebalanceInput, rawInput);
  const { shards } = await bindSlots(SESSION_STORE, sessionStoreSlots);
  const byBackend = new Map<string, SlotBinding>(shards.map((b) => [b.backend, b]));
  for (const backend of [...input.shards, ...input.previousShards]) {
    if (!byBackend.has(backend)) {
      throw ApplicationFailure.nonRetryable(
        `input: backend "${backend}" is not in the shards slot of ${SESSION_STORE} on this worker`,
        INVALID_INPUT,
      );
    }
  }
  const ring = new HashRing(input.shards, input.virtualNodes);
  const on = (backend: string) => useSlotActivities<ShardsActivities>(byBackend.get(backend)!);

  const resume = input.resume ?? { shardIndex: 0, cursor: null, scanned: 0, moved: 0 };
  const progress: RebalanceProgress = {
    region: input.region,
    shardsDone: resume.shardIndex,
    shardsTotal: input.previousShards.length,
    scanned: resume.scanned,
    moved: resume.moved,
    percent: Math.floor((100 * resume.shardIndex) / input.previousShards.length),
  };
  setHandler(rebalanceProgressQuery, () => progress);
  upsertSearchAttributes([
    { key: PRISM_PATTERN, value: SESSION_STORE },
    { key: PRISM_STATUS, value: 'rebalancing' },
    { key: PRISM_PROGRESS, value: progress.percent },
  ]);

  let pages = 0;
  let cursor = resume.cursor;
  for (let shardIndex = resume.shardIndex; shardIndex < input.previousShards.length; shardIndex++) {
    const source = input.previousShards[shardIndex];
    do {
      if (pages >= PAGES_PER_RUN || workflowInfo().continueAsNewSuggested) {
        await continueAsNew<typeof sessionRebalanceWorkflow>({
          ...input,
          resume: { shardIndex, cursor, scanned: progress.scanned, moved: progress.moved },
        });
      }
      const page = await on(source).scanSessions(cursor, input.pageSize);
      pages++;
      progress.scanned += page.ids.length;
      const moved = await moveAway(page.ids, source, ring, on);
      progress.moved += moved;
      cursor = page.cursor;
    } while (cursor !== null);
    progress.shardsDone = shardIndex + 1;
    progress.percent = Math.floor((100 * progress.shardsDone) / progress.shardsTotal);
    upsertSearchAttributes([{ key: PRISM_PROGRESS, value: progress.percent }]);
  }
  upsertSearchAttributes([{ key: PRISM_STATUS, value: 'completed' }]);
  return progress;
}

/** Moves the sessions of a page that the ring now places elsewhere: copied there, then deleted here. */
async function moveAway(
  ids: readonly string[],
  source: string,
  ring: HashRing,
  on: (backend: string) => ShardsActivities,
): Promise<number> {
  const moving = ids.filter((id) => ring.shardFor(id) !== source);
  if (moving.length === 0) return 0;
  const records = await on(source).readRecords(moving);
  for (const [target, batch] of ring.bytesByShard(records)) await on(target).applyRecords(batch);
  await on(source).deleteRecords(records.map((r) => ({ sessionId: r.sessionId, userId: r.userId })));
  return records.length;
}
