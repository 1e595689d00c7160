// The `shards` slot's activities: what the session store's workflows run against each shard, on its
// backend's task queue, behind that backend's breaker and bulkhead: shipping the shard's change
// feed to another region (feed-shipper.ts), the pages of a scan, read, merge and delete that a
// resync and a rebalance use, and readRecord/applyRecord, which only per-session replication
// workflows of an earlier version still call.
import { decodeRecord } from '../../workflows/session-store/logic';
import type { ApplyResult, MovingRecord } from '../../workflows/session-store/input';
import { replicationLagSeconds } from './metrics';
import { feedShipper, type FeedShipperOptions } from './feed-shipper';
import { SessionShard, type SessionShardOps } from './session-shard';

/** The workflows' view of a shard's activities: their proxies are typed from this factory. */
export type ShardsActivities = ReturnType<typeof shardsActivities>;

export function shardsActivities(driver: SessionShardOps, backend: string, feed: Omit<FeedShipperOptions, 'driver'>) {
  const shard = new SessionShard(backend, driver);
  return {
    ...feedShipper({ driver, ...feed }),
    async readRecord(sessionId: string): Promise<Uint8Array | null> {
      const found = await shard.read(sessionId);
      return found ? found.bytes : null;
    },
    async scanSessions(cursor: string | null, limit: number): Promise<{ ids: string[]; cursor: string | null }> {
      return shard.scanAll(cursor, limit);
    },
    async readRecords(sessionIds: string[]): Promise<MovingRecord[]> {
      const found = await Promise.all(sessionIds.map((id) => shard.read(id)));
      return (
        found
          .filter((f) => f !== null)
          // A plain Uint8Array: a nested Buffer would serialise through its toJSON, not as bytes.
          .map((f) => ({
            sessionId: f.record.sessionId,
            userId: f.record.metadata.userId,
            bytes: new Uint8Array(f.bytes),
          }))
      );
    },
    async applyRecords(records: Uint8Array[]): Promise<number> {
      let changed = 0;
      for (const bytes of records) if ((await shard.apply(decodeRecord(bytes), Date.now)).changed) changed++;
      return changed;
    },
    async deleteRecords(entries: { sessionId: string; userId: string }[]): Promise<number> {
      let deleted = 0;
      for (const e of entries) if (await shard.remove(e.sessionId, e.userId)) deleted++;
      return deleted;
    },
    async applyRecord(bytes: Uint8Array, region: string): Promise<ApplyResult> {
      const incoming = decodeRecord(bytes);
      const { changed } = await shard.apply(incoming, Date.now);
      const latestTs = incoming.writtenAt;
      const lagSeconds = Math.max(0, (Date.now() - latestTs) / 1000);
      if (changed) replicationLagSeconds().observe({ region }, lagSeconds);
      return { changed, latestTs, lagSeconds };
    },
  };
}
