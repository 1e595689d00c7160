// sessionFeedReplicationWorkflow: one per (source shard, target region), id
// session-feed-<task queue>-<shard>-to-<region>, long-lived. Every committed session write is an entry of its
// shard's change feed, logged atomically with the write (the changefeed capability); this
// workflow ships that feed to one other region in batches.
//
// The work is one heartbeating activity on the source shard's task queue (shipFeed): it reads
// the feed from the checkpoint (a blocking read), merges each batch into the target region's
// shards (last writer wins per key, so replaying an entry is harmless), commits the checkpoint in
// the feed (which lets the feed be trimmed behind every region), heartbeats the offset and
// returns after a bounded time (roundMs, 5 minutes by default) or count. The workflow holds only the offset and counters, and
// continues as new every few rounds. A worker that dies mid-round: the activity is retried from
// its last heartbeat. A target region that is down: the activity keeps retrying its merges
// (counted on the target's breaker, not the source's) and holds up only this workflow; once the
// region is back it catches up from the checkpoint. If the feed was trimmed past the checkpoint
// (an outage longer than the feed's retention), the activity says so (gap) and the workflow
// copies the whole shard by scan (scanSessions → readRecords → applyRecords, the rebalance's
// activities), then ships again from the feed's head as read before the scan began.
//
// The topology arrives with the input and by signal (a client or worker that starts the workflow
// sends its own); a new one applies from the next round.
import {
  ApplicationFailure,
  continueAsNew,
  defineQuery,
  defineSignal,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { INVALID_INPUT, parseInput } from '../input';
import { PRISM_PATTERN, PRISM_STATUS } from '../search-attributes';
import { bindSlots, useSlotActivities } from '../slots';
import type { SlotBinding } from '../../sdk/slot';
import { HashRing } from './consistent-hash';
import {
  FEED_STATUS_QUERY,
  FEED_TOPOLOGY_SIGNAL,
  feedReplicationInput,
  type FeedReplication,
  type FeedReplicationInput,
  type FeedReplicationStatus,
  type FeedTopology,
  type ShipResult,
} from './input';
import type { ShardsActivities } from '../../activities/session-store/shards-activities';
import { SESSION_STORE, sessionStoreSlots } from './slots';

export const feedTopologySignal = defineSignal<[FeedTopology]>(FEED_TOPOLOGY_SIGNAL);
export const feedStatusQuery = defineQuery<FeedReplicationStatus>(FEED_STATUS_QUERY);

/** A round also ends after this many entries (then the workflow records the offset). */
const ROUND_ENTRIES = 1_000_000;
/** Rounds before continuing as new: the history stays a few dozen events long. */
const ROUNDS_PER_RUN = 20;
const RESYNC_PAGE = 200;

/** This run's state: what the query shows, and the topology the last signal brought. */
interface FeedRun {
  input: FeedReplication;
  byBackend: Map<string, SlotBinding>;
  source: SlotBinding;
  status: FeedReplicationStatus;
  topology: FeedTopology;
}

export async function sessionFeedReplicationWorkflow(rawInput: FeedReplicationInput): Promise<never> {
  const input = parseInput(feedReplicationInput, rawInput);
  const { shards } = await bindSlots(SESSION_STORE, sessionStoreSlots);
  const byBackend = new Map<string, SlotBinding>(shards.map((b) => [b.backend, b]));
  const run: FeedRun = {
    input,
    byBackend,
    source: byBackend.get(input.shard)!,
    status: {
      shard: input.shard,
      target: input.target,
      offset: input.offset,
      rounds: 0,
      phase: 'shipping',
      ...input.counters,
    },
    topology: { regions: input.regions, virtualNodes: input.virtualNodes },
  };
  const problem = unservedBackend(run, run.topology);
  if (problem !== null) {
    throw ApplicationFailure.nonRetryable(
      `${problem} is not in the shards slot of ${SESSION_STORE} on this worker`,
      INVALID_INPUT,
    );
  }
  setHandler(feedTopologySignal, (next) => {
    if (unservedBackend(run, next) === null) run.topology = next; // one this worker cannot serve is ignored
  });
  // The round's own timeouts: it runs up to roundMs and heartbeats at least every second.
  const shipper = useSlotActivities<ShardsActivities>(run.source, {
    startToCloseTimeout: input.roundMs + 120_000,
    heartbeatTimeout: 15_000,
  });
  setHandler(feedStatusQuery, () => run.status);
  upsertSearchAttributes([
    { key: PRISM_PATTERN, value: SESSION_STORE },
    { key: PRISM_STATUS, value: 'replicating' },
  ]);

  for (;;) {
    if (run.status.rounds >= ROUNDS_PER_RUN || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof sessionFeedReplicationWorkflow>(carryOver(run));
    }
    const round = await shipper.shipFeed({
      target: input.target,
      targetShards: run.topology.regions[input.target],
      virtualNodes: run.topology.virtualNodes,
      after: run.status.offset,
      maxMs: input.roundMs,
      maxEntries: ROUND_ENTRIES,
    });
    recordRound(run.status, round);
    if (round.gap) await resyncByScan(run, shipper);
  }
}

/** The first backend of `topology` this worker has no shard for (as the start of a message), or null. */
function unservedBackend({ input, byBackend }: FeedRun, topology: FeedTopology): string | null {
  if (!byBackend.has(input.shard)) return `input.shard: backend "${input.shard}"`;
  const targets = topology.regions[input.target];
  if (!targets) return `input.target: region "${input.target}" is not in input.regions, and`;
  const missing = targets.find((b) => !byBackend.has(b));
  return missing === undefined ? null : `input.regions.${input.target}: backend "${missing}"`;
}

function recordRound(status: FeedReplicationStatus, round: ShipResult): void {
  status.rounds++;
  status.offset = round.offset;
  status.shipped += round.shipped;
  status.applied += round.applied;
  status.maxLagMs = Math.max(status.maxLagMs, round.maxLagMs);
  if (round.lastLagMs !== null) status.lastLagMs = round.lastLagMs;
}

/** The next run's input: the latest topology, the offset and the counters so far. */
function carryOver({ input, status, topology }: FeedRun): FeedReplicationInput {
  const { shipped, applied, resyncs, maxLagMs, lastLagMs } = status;
  return {
    ...input,
    regions: topology.regions,
    virtualNodes: topology.virtualNodes,
    offset: status.offset,
    counters: { shipped, applied, resyncs, maxLagMs, lastLagMs },
  };
}

/** The feed was trimmed past the checkpoint: copy the whole shard by scan, then ship from the head. */
async function resyncByScan(run: FeedRun, shipper: ShardsActivities): Promise<void> {
  const { input, status, byBackend } = run;
  status.phase = 'resyncing';
  upsertSearchAttributes([{ key: PRISM_STATUS, value: 'resyncing' }]);
  // Everything written up to the head is in the shard when the scan reads it; later writes
  // are shipped from the feed afterwards.
  const head = await shipper.feedHead();
  const targets = run.topology.regions[input.target];
  const ring = new HashRing(targets, run.topology.virtualNodes);
  const from = useSlotActivities<ShardsActivities>(run.source);
  let cursor: string | null = null;
  do {
    const page = await from.scanSessions(cursor, RESYNC_PAGE);
    const records = page.ids.length > 0 ? await from.readRecords(page.ids) : [];
    for (const [target, batch] of ring.bytesByShard(records)) {
      status.applied += await useSlotActivities<ShardsActivities>(byBackend.get(target)!).applyRecords(batch);
    }
    cursor = page.cursor;
  } while (cursor !== null);
  status.offset = head;
  status.resyncs++;
  status.phase = 'shipping';
  upsertSearchAttributes([{ key: PRISM_STATUS, value: 'replicating' }]);
}
