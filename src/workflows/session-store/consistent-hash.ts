// Consistent hashing with virtual nodes: places a session on one shard of a region so that adding
// a shard moves only about 1/N of the sessions (those now closest to one of its points). Pure:
// the replication workflow computes placements with it, deterministically.

/** 32-bit FNV-1a over UTF-16 code units, then murmur3's finaliser so near-equal keys spread out. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export const DEFAULT_VIRTUAL_NODES = 160;

interface Point {
  hash: number;
  shard: string;
}

export class HashRing {
  readonly shards: readonly string[];
  private readonly points: Point[];

  constructor(shards: readonly string[], virtualNodes = DEFAULT_VIRTUAL_NODES) {
    if (shards.length === 0) throw new Error('a hash ring needs at least one shard');
    if (new Set(shards).size !== shards.length) throw new Error('shard names must be unique');
    if (!Number.isInteger(virtualNodes) || virtualNodes < 1) throw new Error('virtualNodes must be a positive integer');
    this.shards = [...shards];
    this.points = [];
    for (const shard of shards) {
      for (let i = 0; i < virtualNodes; i++) this.points.push({ hash: hash32(`${shard}#${i}`), shard });
    }
    // Ties broken by name, so the ring does not depend on the order shards were listed in.
    this.points.sort((a, b) => a.hash - b.hash || (a.shard < b.shard ? -1 : a.shard > b.shard ? 1 : 0));
  }

  /** The shard owning key: the first point clockwise from the key's hash. */
  shardFor(key: string): string {
    if (this.shards.length === 1) return this.shards[0]; // every point is that shard's
    const h = hash32(key);
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.points[mid].hash < h) lo = mid + 1;
      else hi = mid;
    }
    return this.points[lo === this.points.length ? 0 : lo].shard;
  }

  /** Stored sessions grouped by the shard owning each, their bytes in the order given. */
  bytesByShard(records: readonly { sessionId: string; bytes: Uint8Array }[]): Map<string, Uint8Array[]> {
    const byShard = new Map<string, Uint8Array[]>();
    for (const r of records) {
      const shard = this.shardFor(r.sessionId);
      byShard.set(shard, [...(byShard.get(shard) ?? []), r.bytes]);
    }
    return byShard;
  }
}
