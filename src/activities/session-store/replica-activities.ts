// The slot activities the replication workflow runs against each shard: read a session's record
// at its origin, merge it into a shard of another region. Each runs on the shard backend's task
// queue, behind that backend's breaker and bulkhead.
import type { ActivityMap } from '../../sdk/pattern';
import { decodeRecord, latestStamp } from '../../workflows/session-store/session-record';
import type { ApplyResult } from '../../workflows/session-store/input';
import { replicationLagSeconds } from './metrics';
import { SessionShard, type SessionShardOps } from './session-shard';

export function replicaActivities(driver: SessionShardOps, backend: string): ActivityMap {
  const shard = new SessionShard(backend, driver);
  return {
    async readRecord(sessionId: string): Promise<Uint8Array | null> {
      const found = await shard.read(sessionId);
      return found ? found.bytes : null;
    },
    async applyRecord(bytes: Uint8Array, region: string): Promise<ApplyResult> {
      const incoming = decodeRecord(bytes);
      const { changed } = await shard.apply(incoming, Date.now);
      const latestTs = latestStamp(incoming).ts;
      const lagSeconds = Math.max(0, (Date.now() - latestTs) / 1000);
      if (changed) replicationLagSeconds().observe({ region }, lagSeconds);
      return { changed, latestTs, lagSeconds };
    },
  };
}
