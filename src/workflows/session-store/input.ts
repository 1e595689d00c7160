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
