// The shipping side of replication by change feed (see sessionFeedReplicationWorkflow): runs on
// the source shard's task queue, under the source backend's guard, and reaches the target
// region's shards through the worker's guarded handles on them (so a target that fails trips its
// own breaker, never the source's).
//
// One call is one round: read the feed after the checkpoint (blocking up to a second), fold the
// batch per session (the last-writer-wins join, so each session is merged once per batch), merge
// into the target shards a few at a time, commit the checkpoint in the feed, heartbeat it, and
// every few seconds trim the feed behind every region's checkpoint (or past the retention). A
// merge that fails is retried within the round with a backoff, without moving the checkpoint: the
// target region being down holds up only this round. The round ends after maxMs or maxEntries.
import { Context } from '@temporalio/activity';
import { backendAnswered } from '../../resilience/backend-answered';
import { SESSION_FEED, type ShipRequest, type ShipResult } from '../../workflows/session-store/input';
import { HashRing } from '../../workflows/session-store/consistent-hash';
import { decodeRecord, mergeRecords, type SessionRecord } from '../../workflows/session-store/logic';
import { replicationLagSeconds } from './metrics';
import { SessionShard, type SessionShardOps } from './session-shard';

/** Entries per feed read. */
const BATCH = 500;
/** Merges in flight at once: well under a backend's default bulkhead capacity (32). */
const MERGES_IN_FLIGHT = 16;
const READ_WAIT_MS = 1000;
const TRIM_EVERY_MS = 5000;
const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 2000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface FeedShipperOptions {
  /** The shard's own driver (the activity interceptor guards this call). */
  driver: SessionShardOps;
  /** Another backend of this worker, through its guard; undefined when the worker has none. */
  peer: (backend: string) => SessionShardOps | undefined;
  /** Entries a feed keeps past the slowest region's checkpoint before trimming them anyway. */
  retainEntries: () => number;
}

/** Runs fn over items, at most `width` at once. */
async function eachLimited<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

export function feedShipper(options: FeedShipperOptions) {
  const { driver, peer } = options;
  const peers = new Map<string, SessionShard>();
  const shardOf = (backend: string): SessionShard => {
    let shard = peers.get(backend);
    if (!shard) {
      const ops = peer(backend);
      if (!ops) throw new Error(`backend "${backend}" is not open on this worker (not in the shards slot)`);
      shard = new SessionShard(backend, ops);
      peers.set(backend, shard);
    }
    return shard;
  };

  return {
    async shipFeed(request: ShipRequest): Promise<ShipResult> {
      const ctx = Context.current();
      // A retried round resumes from its last heartbeat, which is never behind request.after.
      const resumed = ctx.info.heartbeatDetails as { offset: string | null } | undefined;
      let offset = resumed?.offset ?? request.after;
      const ring = new HashRing(request.targetShards, request.virtualNodes);
      const lag = replicationLagSeconds();
      const result: ShipResult = { offset, shipped: 0, applied: 0, gap: false, maxLagMs: 0, lastLagMs: null };
      const deadline = Date.now() + request.maxMs;
      let trimmedAt = 0;
      let retryMs = RETRY_MIN_MS;

      while (Date.now() < deadline && result.shipped < request.maxEntries && !ctx.cancellationSignal.aborted) {
        const waitMs = Math.max(0, Math.min(READ_WAIT_MS, deadline - Date.now()));
        const page = await driver.readFeed(SESSION_FEED, { after: offset, limit: BATCH, waitMs });
        // The source shard answered: a round admitted as its half-open probe closes the circuit
        // now, not after the round, so the other regions' merges into this shard are let in.
        backendAnswered();
        if (page.gap) return { ...result, offset, gap: true };
        if (page.entries.length > 0) {
          // The join of every copy of a session in the batch: one merge per session.
          const latest = new Map<string, SessionRecord>();
          for (const entry of page.entries) {
            const record = decodeRecord(entry.value);
            const seen = latest.get(record.sessionId);
            latest.set(record.sessionId, seen ? mergeRecords(seen, record) : record);
          }
          const pending = [...latest.values()];
          for (;;) {
            const failed: SessionRecord[] = [];
            await eachLimited(pending.splice(0), MERGES_IN_FLIGHT, async (record) => {
              try {
                const { changed } = await shardOf(ring.shardFor(record.sessionId)).apply(record, Date.now);
                if (!changed) return;
                result.applied++;
                const ms = Math.max(0, Date.now() - record.writtenAt);
                lag.observe({ region: request.target }, ms / 1000);
                result.maxLagMs = Math.max(result.maxLagMs, ms);
                result.lastLagMs = ms;
              } catch {
                failed.push(record); // the target is down or refusing: try again below
              }
            });
            if (failed.length === 0) break;
            if (Date.now() >= deadline || ctx.cancellationSignal.aborted) return { ...result, offset };
            ctx.heartbeat({ offset });
            // The feed must not grow without bound while the target is away: past the retention
            // it is trimmed anyway, and this region catches up by a resync when it returns.
            if (Date.now() - trimmedAt >= TRIM_EVERY_MS) {
              await driver.trimFeed(SESSION_FEED, { maxEntries: options.retainEntries() });
              trimmedAt = Date.now();
            }
            await sleep(retryMs);
            retryMs = Math.min(RETRY_MAX_MS, retryMs * 2);
            pending.push(...failed);
          }
          retryMs = RETRY_MIN_MS;
          offset = page.entries[page.entries.length - 1].offset;
          result.shipped += page.entries.length;
          await driver.commitFeed(SESSION_FEED, request.target, offset);
        }
        result.offset = offset;
        ctx.heartbeat({ offset });
        if (Date.now() - trimmedAt >= TRIM_EVERY_MS) {
          await driver.trimFeed(SESSION_FEED, { maxEntries: options.retainEntries() });
          trimmedAt = Date.now();
        }
      }
      return { ...result, offset };
    },

    async feedHead(): Promise<string | null> {
      return driver.feedHead(SESSION_FEED);
    },
  };
}
