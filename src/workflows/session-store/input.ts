// The session store's workflow inputs, signal and query names and status shapes, and what its
// shard activities take and return: shared by the workflows, the activities, the client and the
// worker's start-up. Pure.
import { z } from 'zod';

const regionName = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'expected a lower-case region name');

/** Region → the backends of its shards, in ring order. The same topology the client uses. */
export const topologySchema = z
  .record(regionName, z.array(z.string().min(1)).min(1))
  .refine((t) => Object.keys(t).length >= 1, 'at least one region');

export const replicationInput = z
  .object({
    sessionId: z.string().min(1).max(256),
    regions: topologySchema,
    virtualNodes: z.number().int().min(1).max(4096).optional(),
    /** The workflow ends after this long without changes; the next write starts it again. */
    idleTimeoutMs: z.number().int().min(100).default(60_000),
    /** Carried over by continue-as-new: target region → origin regions still to copy from. */
    pending: z.record(z.string(), z.array(z.string())).default({}),
  })
  .strict();

export type ReplicationInput = z.input<typeof replicationInput>;

/** Signal and query names, as constants the client can use without importing workflow code. */
export const SESSION_CHANGED_SIGNAL = 'sessionChanged';
export const REPLICATION_STATUS_QUERY = 'replicationStatus';

/** Sent by the store after every committed write (signal-with-start). */
export interface SessionChanged {
  /** The region the write committed in. */
  region: string;
  /** The write's stamp time (ms). */
  ts: number;
}

export interface RegionReplicationStatus {
  /** The newest write time (ms) known to be applied in this region. */
  appliedUpTo: number | null;
  /** Seconds from that write's commit to its arrival here, as last measured. */
  lagSeconds: number | null;
  maxLagSeconds: number;
  pending: boolean;
  rounds: number;
}

export interface ReplicationStatus {
  sessionId: string;
  latestWrite: number | null;
  regions: Record<string, RegionReplicationStatus>;
}

export interface ApplyResult {
  changed: boolean;
  /** The newest write time (ms) in what was applied. */
  latestTs: number;
  lagSeconds: number;
}

export const REBALANCE_PROGRESS_QUERY = 'rebalanceProgress';

/** Moves a region's sessions from the ring of `previousShards` to the ring of `shards`. */
export const rebalanceInput = z
  .object({
    region: regionName,
    shards: z.array(z.string().min(1)).min(1),
    previousShards: z.array(z.string().min(1)).min(1),
    virtualNodes: z.number().int().min(1).max(4096).optional(),
    pageSize: z.number().int().min(1).max(1000).default(100),
    /** Carried over by continue-as-new. */
    resume: z
      .object({
        shardIndex: z.number().int().min(0),
        cursor: z.string().nullable(),
        scanned: z.number().int().min(0),
        moved: z.number().int().min(0),
      })
      .optional(),
  })
  .strict();

export type RebalanceInput = z.input<typeof rebalanceInput>;

export interface RebalanceProgress {
  region: string;
  shardsDone: number;
  shardsTotal: number;
  scanned: number;
  moved: number;
  percent: number;
}

export interface MovingRecord {
  sessionId: string;
  userId: string;
  bytes: Uint8Array;
}

// Replication by change feed: one workflow per (shard, other region) ships the shard's feed.

/** Every shard backend's change feed of session writes (one feed per backend). */
export const SESSION_FEED = 'session-store';

export const FEED_TOPOLOGY_SIGNAL = 'sessionFeedTopology';
export const FEED_STATUS_QUERY = 'sessionFeedStatus';

/**
 * One workflow per (source shard, target region) of a worker fleet (its task queue): this id
 * makes starting it idempotent, and two fleets on one namespace never share one.
 */
export function feedReplicationWorkflowId(taskQueue: string, shard: string, target: string): string {
  return `session-feed-${taskQueue}-${shard}-to-${target}`;
}

export interface FeedTopology {
  regions: Record<string, string[]>;
  virtualNodes?: number;
}

const counters = z
  .object({
    /** Feed entries read and merged into the target (a replayed entry counts again). */
    shipped: z.number().int().min(0),
    /** Of those, merges that changed the target's copy. */
    applied: z.number().int().min(0),
    /** Full resyncs by scan (the feed was trimmed past the checkpoint). */
    resyncs: z.number().int().min(0),
    /** The largest lag seen (write committed → applied in the target), in ms. */
    maxLagMs: z.number().min(0),
    /** The lag of the last applied write, in ms. */
    lastLagMs: z.number().min(0).nullable(),
  })
  .strict();

export type FeedCounters = z.output<typeof counters>;

export const feedReplicationInput = z
  .object({
    /** The shard backend whose feed is shipped. */
    shard: z.string().min(1),
    /** The region receiving it. */
    target: z.string().min(1),
    regions: topologySchema,
    virtualNodes: z.number().int().min(1).max(4096).optional(),
    /**
     * How long one round of the shipping activity runs before it reports back. Round boundaries
     * are a Temporal round trip (seconds on a loaded server) with nothing shipped meanwhile, so
     * they are kept rare; the status counters are as of the last round.
     */
    roundMs: z.number().int().min(1000).max(3_600_000).default(300_000),
    /** Where shipping resumes: every entry up to this offset is applied (null: from the feed's start). */
    offset: z.string().nullable().default(null),
    /** Carried over by continue-as-new. */
    counters: counters.default({ shipped: 0, applied: 0, resyncs: 0, maxLagMs: 0, lastLagMs: null }),
  })
  .strict();

export type FeedReplicationInput = z.input<typeof feedReplicationInput>;
export type FeedReplication = z.output<typeof feedReplicationInput>;

export interface FeedReplicationStatus extends FeedCounters {
  shard: string;
  target: string;
  offset: string | null;
  /** Rounds of the shipping activity in this run. */
  rounds: number;
  /** What the workflow is doing: shipping from the feed, or resyncing by scan. */
  phase: 'shipping' | 'resyncing';
}

export interface ShipRequest {
  target: string;
  /** The target region's shards, in ring order, and the ring's virtual nodes. */
  targetShards: string[];
  virtualNodes?: number;
  after: string | null;
  /** The activity returns after this long (or maxEntries), so the workflow can continue as new. */
  maxMs: number;
  maxEntries: number;
}

export interface ShipResult {
  /** Every entry up to this offset is merged into the target. */
  offset: string | null;
  shipped: number;
  applied: number;
  /** The feed was trimmed past `after`: the target needs a full resync. */
  gap: boolean;
  maxLagMs: number;
  lastLagMs: number | null;
}
