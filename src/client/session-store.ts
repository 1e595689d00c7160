// The session store's client: the fast path. Reads and single-key writes call the shard backends
// directly (no workflow), on handles from a BackendPool: each call goes through the backend's
// guard (breaker, bulkhead, metrics) built from the same backend config the worker uses. Stores
// in one process share the pool's guards (BackendPool.shared() by default; a worker's pool puts
// the calls on that worker's /metrics and /health).
//
// A write is one guarded call in the common case: a compare-and-set that also logs the new record
// in the shard's change feed (the changefeed capability, one atomic step on the backend), against
// the version this client last saw of the session. When that version is stale the call fails and
// returns the stored record, and the write is redone on it (no extra read). Writes make no
// Temporal call: replication ships each shard's feed to the other regions in batches
// (sessionFeedReplicationWorkflow, one per shard and target region; docs/session-store.md).
// With `replication`, connect() starts those workflows for this region's shards (idempotently).
//
// Sliding TTL without a write per read: a read pushes the key's TTL (EXPIRE; at most once per 1% of
// the window per session and client) and rewrites the record (which replicates) only when less
// than half a window is left of its written expiry. So replicas expire at most half a window
// earlier than the home copy of a session that is only read.
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { ConfigError, zodProblems } from '../common/config-errors';
import type { PrismConfig } from '../config/schema';
import { prepareSecurity } from '../config/prepare-security';
import { sessionStoreSettingsSchema } from '../workflows/session-store/settings';
import { hasCapability } from '../drivers/driver';
import type { BackendHandle } from '../runtime/backend-handle';
import { BackendPool } from '../runtime/backend-pool';
import { SessionShard, type SessionShardOps, type VersionedRecord } from '../activities/session-store/session-shard';
import { HashRing } from '../workflows/session-store/consistent-hash';
import {
  FEED_STATUS_QUERY,
  feedReplicationWorkflowId,
  type FeedReplicationStatus,
} from '../workflows/session-store/input';
import { startFeedReplication } from '../patterns/session-store-feeds';
import {
  decodeRecord,
  decodeValue,
  encodeValue,
  nextStamp,
  own,
  recordText,
  sameBytes,
  type JsonValue,
  type SessionMetadata,
  type SessionRecord,
  type SessionValue,
  type Stamp,
} from '../workflows/session-store/logic';
import { SESSION_STORE, SHARD_CAPABILITIES } from '../workflows/session-store/slots';
import { SessionStoreError } from './session-store-errors';

export { SessionStoreError } from './session-store-errors';
export type { SessionValue, JsonValue, SessionMetadata } from '../workflows/session-store/logic';

export const DEFAULT_MAX_SESSION_BYTES = 1024 * 1024;
export const DEFAULT_TTL_SECONDS = 30 * 60;
export const MAX_TTL_SECONDS = 30 * 24 * 3600;
const MAX_DATA_KEY_LENGTH = 256;
const MAX_CAS_ATTEMPTS = 20;
/**
 * A hot session's expiry is pushed at most once per 1/TOUCH_GRANULARITY of its window by one
 * client: a read is then one driver call, and the expiry is exact to 1% of the window.
 */
const TOUCH_GRANULARITY = 100;
const MAX_TOUCH_MEMORY = 10_000;
/** Sessions whose last seen record and version this client keeps, so a write needs no read. */
const MAX_KNOWN_SESSIONS = 10_000;

export interface Session {
  sessionId: string;
  metadata: SessionMetadata;
  data: Record<string, SessionValue>;
  createdAt: number;
  lastAccessed: number;
  expiresAt: number;
  /** The stored version in this region (changes on every write). */
  version: string;
}

export interface SessionStoreOptions {
  /** The region this client reads from and commits writes in. */
  region: string;
  /** Region → backend names of its shards. */
  regions: Record<string, string[]>;
  /**
   * While a rebalance runs: the shards each region had before. A session not at its new place is
   * looked up at its old one and moved (merged in, then removed there) before it is used.
   */
  previousRegions?: Record<string, string[]>;
  /** Backend name → `{ driver, config, circuit_breaker, bulkhead }`, as in the worker's YAML. */
  backends: Record<string, unknown>;
  virtualNodes?: number;
  /** Size cap of one session as stored (default 1 MiB). Backends' own value limits must allow it. */
  maxSessionBytes?: number;
  defaultTtlSeconds?: number;
  /**
   * Where the replication workflows run: connect() starts (or finds running) the one of each of
   * this region's shards towards each other region. Without it, the worker starts them (from its
   * settings.regions); writes are logged in the shards' feeds either way. `idleTimeoutMs` is
   * accepted for compatibility and unused (the workflows are long-lived). `start: false` only
   * queries them (replicationStatus), as `prism session status` does.
   */
  replication?: { client: Client; taskQueue: string; idleTimeoutMs?: number; start?: boolean };
  /**
   * Where the shard backends are opened and guarded (default: BackendPool.shared(), one per
   * process). Pass a worker's `worker.backends` to share its guards and show on its /metrics.
   */
  pool?: BackendPool;
  /** Milliseconds since the epoch (tests may shift it). */
  now?: () => number;
}

export interface RegionReplicationStatus {
  /** The shard holding the session in that region. */
  shard: string;
  /** When the copy there last changed (ms); null when the region has no copy. */
  writtenAt: number | null;
  /** The copy there is byte for byte this region's (both absent counts as in sync). */
  inSync: boolean;
  /** The workflow shipping this region's shard of the session there (null for this region). */
  feed: FeedReplicationStatus | null;
}

export interface SessionReplicationStatus {
  sessionId: string;
  /** The newest write time (ms) among the regions' copies. */
  latestWrite: number | null;
  regions: Record<string, RegionReplicationStatus>;
}

export interface CreateSessionInput {
  userId: string;
  clientId?: string;
  /** The session's home region (default: this client's region). */
  region?: string;
  attributes?: Record<string, string>;
}

export interface ListSessionsOptions {
  userId?: string;
  /** The region to list from (default: this client's region). */
  region?: string;
  limit?: number;
  cursor?: string | null;
}

interface ListCursor {
  shard: number;
  cursor: string | null;
}

export class SessionStore {
  readonly region: string;
  private readonly rings = new Map<string, HashRing>();
  private readonly previousRings = new Map<string, HashRing>();
  private readonly shards = new Map<string, SessionShard>();
  private readonly maxBytes: number;
  private readonly defaultTtl: number;
  private readonly now: () => number;
  private readonly writing = new Map<string, Promise<void>>();
  /** The record and version this client last read or wrote per session (a write's expected version). */
  private readonly known = new Map<string, { shard: SessionShard; found: VersionedRecord }>();
  /** When this client last pushed a session's key TTL (see TOUCH_GRANULARITY). */
  private readonly touched = new Map<string, number>();

  private constructor(
    private readonly options: SessionStoreOptions,
    /** The shard backends, each call through its guard. */
    readonly backends: ReadonlyMap<string, BackendHandle>,
  ) {
    this.region = options.region;
    this.maxBytes = options.maxSessionBytes ?? DEFAULT_MAX_SESSION_BYTES;
    this.defaultTtl = options.defaultTtlSeconds ?? DEFAULT_TTL_SECONDS;
    this.now = options.now ?? Date.now;
    for (const [region, backends] of Object.entries(options.regions)) {
      this.rings.set(region, new HashRing(backends, options.virtualNodes));
    }
    for (const [region, backends] of Object.entries(options.previousRegions ?? {})) {
      this.previousRings.set(region, new HashRing(backends, options.virtualNodes));
    }
    for (const [name, handle] of backends) {
      this.shards.set(name, new SessionShard(name, handle as unknown as SessionShardOps));
    }
  }

  /**
   * A store from a worker config: the topology and limits from patterns.session-store.settings,
   * backends (secret references resolved) and their breaker and bulkhead settings from backends.
   */
  static async fromConfig(
    config: PrismConfig,
    options: {
      region: string;
      replication?: { client: Client; taskQueue?: string; start?: boolean };
      file?: string;
      pool?: BackendPool;
    },
  ): Promise<SessionStore> {
    const file = options.file ?? '<config>';
    const { config: resolved } = prepareSecurity(config, file);
    const parsed = sessionStoreSettingsSchema.safeParse(resolved.patterns[SESSION_STORE]?.settings ?? {});
    if (!parsed.success)
      throw new ConfigError(file, zodProblems(parsed.error, ['patterns', SESSION_STORE, 'settings']));
    const settings = parsed.data;
    if (!settings.regions) {
      throw new ConfigError(file, [`patterns.${SESSION_STORE}.settings.regions: the store needs its regions`]);
    }
    return SessionStore.connect({
      region: options.region,
      regions: settings.regions,
      backends: resolved.backends,
      virtualNodes: settings.virtual_nodes,
      maxSessionBytes: settings.max_session_bytes,
      defaultTtlSeconds: settings.default_ttl_seconds,
      replication: options.replication && {
        client: options.replication.client,
        taskQueue: options.replication.taskQueue ?? config.temporal.task_queue,
        start: options.replication.start,
      },
      pool: options.pool,
    });
  }

  /** Validates the topology and opens every shard backend in the pool. */
  static async connect(options: SessionStoreOptions): Promise<SessionStore> {
    if (!(options.region in options.regions)) {
      throw new SessionStoreError('UnknownRegion', `region "${options.region}" is not in regions`);
    }
    const pool = options.pool ?? BackendPool.shared();
    const names = [
      ...new Set([...Object.values(options.regions), ...Object.values(options.previousRegions ?? {})].flat()),
    ];
    const handles = new Map<string, BackendHandle>();
    try {
      for (const name of names) {
        if (!(name in options.backends)) throw new Error(`regions name backend "${name}", which is not in backends`);
        const handle = await pool.open(name, options.backends[name]);
        handles.set(name, handle);
        const missing = SHARD_CAPABILITIES.filter((c) => !hasCapability(handle, c));
        if (missing.length > 0)
          throw new Error(`backends.${name}: driver ${handle.driverName} lacks ${missing.join(', ')}`);
      }
      if (options.replication && options.replication.start !== false && Object.keys(options.regions).length > 1) {
        const { client, taskQueue } = options.replication;
        const topology = { regions: options.regions, virtualNodes: options.virtualNodes };
        await startFeedReplication(client.workflow, taskQueue, topology, [options.region]);
      }
    } catch (err) {
      await Promise.all([...handles.values()].map((h) => h.close()));
      throw err;
    }
    return new SessionStore(options, handles);
  }

  /** Releases the store's handles (a backend's driver closes once no one in the pool uses it). */
  async close(): Promise<void> {
    await Promise.all([...this.backends.values()].map((h) => h.close()));
  }

  /** The shard holding a session in a region. */
  shardFor(sessionId: string, region = this.region): SessionShard {
    return this.shards.get(this.ring(region).shardFor(sessionId))!;
  }

  async createSession(input: CreateSessionInput, options: { ttlSeconds?: number } = {}): Promise<Session> {
    const ttlSeconds = this.checkTtl(options.ttlSeconds ?? this.defaultTtl, 'ttlSeconds');
    const metadata = this.checkMetadata(input);
    const sessionId = randomUUID();
    const now = this.now();
    const stamp: Stamp = { ts: now, region: this.region };
    const record: SessionRecord = {
      sessionId,
      metadata,
      metaStamp: stamp,
      createdAt: now,
      ttlSeconds,
      expiresAt: now + ttlSeconds * 1000,
      lastAccessed: now,
      writtenAt: now,
      data: {},
      deleted: null,
    };
    const bytes = this.checkSize(record);
    const shard = this.shardFor(sessionId);
    const result = await shard.write(record, null, now, bytes);
    if (!result.ok) throw new SessionStoreError('Conflict', `session id ${sessionId} is already taken`);
    this.remember(sessionId, shard, { record, bytes, version: result.version! });
    return view(record, result.version!);
  }

  /** The whole session; counts as an access (pushes its expiry). */
  async getSession(sessionId: string): Promise<Session> {
    const read = await this.access(sessionId, true);
    if ('session' in read) return read.session;
    return { ...view(read.record, read.version), lastAccessed: read.now, expiresAt: read.expiresAt };
  }

  /** One data value, or undefined when the session has no such key; counts as an access. */
  async getData(sessionId: string, key: string): Promise<SessionValue | undefined> {
    checkDataKey(key);
    const read = await this.access(sessionId, false);
    if ('session' in read) return own(read.session.data, key);
    const entry = own(read.record.data, key);
    // The record may be the shard's cached decode (see SessionShard.peek): hand out a copy.
    return entry === undefined || entry.value === null ? undefined : copyValue(decodeValue(entry.value));
  }

  // Not an async function (a write is on the fast path); bad arguments still reject.
  setData(sessionId: string, key: string, value: SessionValue): Promise<Session> {
    try {
      checkDataKey(key);
      const stored = encodeValue(checkValue(value));
      return this.mutate(sessionId, (record, stamp) => {
        record.data[key] = { value: stored, stamp };
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Removes one key; returns whether it was there. */
  async deleteData(sessionId: string, key: string): Promise<boolean> {
    checkDataKey(key);
    let existed = false;
    await this.mutate(sessionId, (record, stamp) => {
      const entry = own(record.data, key);
      existed = entry !== undefined && entry.value !== null;
      record.data[key] = { value: null, stamp };
    });
    return existed;
  }

  /** Deletes the session everywhere (a tombstone replicates, so a late older write cannot revive it). */
  async deleteSession(sessionId: string): Promise<void> {
    await this.mutate(sessionId, (record, stamp) => {
      record.deleted = stamp;
      record.data = {};
    });
  }

  /** Pushes the session's expiry `seconds` further than it is now. */
  async extend(sessionId: string, seconds: number): Promise<Session> {
    this.checkTtl(seconds, 'seconds');
    return this.mutate(sessionId, (record, _stamp, now, current) => {
      record.expiresAt = Math.max(current.expiresAt, now + current.ttlSeconds * 1000) + seconds * 1000;
    });
  }

  /** Sessions in a region (of one user, if given), a page at a time. Listing is not an access. */
  async listSessions(options: ListSessionsOptions = {}): Promise<{ sessions: Session[]; cursor: string | null }> {
    const region = options.region ?? this.region;
    const ring = this.ring(region);
    const limit = options.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new SessionStoreError('InvalidArgument', 'limit must be an integer from 1 to 1000');
    }
    if (options.userId !== undefined && (typeof options.userId !== 'string' || options.userId === '')) {
      throw new SessionStoreError('InvalidArgument', 'userId must be a non-empty string');
    }
    let position = decodeCursor(options.cursor ?? null, ring.shards.length);
    const sessions: Session[] = [];
    while (position && sessions.length < limit) {
      const shard = this.shards.get(ring.shards[position.shard])!;
      const page = options.userId
        ? await shard.scanUser(options.userId, position.cursor, limit - sessions.length)
        : await shard.scanAll(position.cursor, limit - sessions.length);
      const found = await Promise.all(page.ids.map((id) => shard.read(id)));
      for (let i = 0; i < found.length; i++) {
        const f = found[i];
        const live = f && !f.record.deleted && (!options.userId || f.record.metadata.userId === options.userId);
        if (live) sessions.push(view(f.record, f.version));
        else if (options.userId && !f) await shard.deleteIndex(options.userId, page.ids[i]); // expired: tidy up
      }
      position =
        page.cursor !== null
          ? { shard: position.shard, cursor: page.cursor }
          : position.shard + 1 < ring.shards.length
            ? { shard: position.shard + 1, cursor: null }
            : null;
    }
    return { sessions, cursor: position ? encodeCursor(position) : null };
  }

  /**
   * Where replication of a session stands: per region, the write time of the copy there and
   * whether it equals this region's copy; for the other regions, the status of the workflow
   * shipping this session's shard there (null without `replication`, or when none runs).
   */
  async replicationStatus(sessionId: string): Promise<SessionReplicationStatus> {
    checkSessionId(sessionId);
    const home = await this.shardFor(sessionId).read(sessionId);
    const regions: Record<string, RegionReplicationStatus> = {};
    let latestWrite: number | null = null;
    for (const region of this.rings.keys()) {
      const shard = this.shardFor(sessionId, region);
      const found = region === this.region ? home : await shard.read(sessionId);
      const writtenAt = found ? found.record.writtenAt : null;
      if (writtenAt !== null) latestWrite = Math.max(latestWrite ?? 0, writtenAt);
      const inSync = home === null ? found === null : found !== null && sameBytes(found.bytes, home.bytes);
      const feed = region === this.region ? null : await this.feedStatus(this.shardFor(sessionId).backend, region);
      regions[region] = { shard: shard.backend, writtenAt, inSync, feed };
    }
    return { sessionId, latestWrite, regions };
  }

  private async feedStatus(shard: string, target: string): Promise<FeedReplicationStatus | null> {
    const replication = this.options.replication;
    if (!replication) return null;
    try {
      return await replication.client.workflow
        .getHandle(feedReplicationWorkflowId(replication.taskQueue, shard, target))
        .query<FeedReplicationStatus>(FEED_STATUS_QUERY);
    } catch (err) {
      if ((err as Error).name === 'WorkflowNotFoundError') return null;
      throw err;
    }
  }

  // --- internals --------------------------------------------------------------------------------

  private ring(region: string): HashRing {
    const ring = this.rings.get(region);
    if (!ring) {
      throw new SessionStoreError(
        'UnknownRegion',
        `unknown region "${region}" (regions: ${[...this.rings.keys()].join(', ')})`,
      );
    }
    return ring;
  }

  /** A session's shard in this region and its record there, moving it first during a rebalance. */
  private async locate(sessionId: string): Promise<{ shard: SessionShard; found: VersionedRecord | null }> {
    const shard = this.shardFor(sessionId);
    const found = await shard.read(sessionId);
    const previous = this.previousRings.get(this.region);
    if (found || !previous) return { shard, found };
    const old = this.shards.get(previous.shardFor(sessionId))!;
    if (old === shard) return { shard, found };
    const stale = await old.read(sessionId);
    if (!stale) return { shard, found: await shard.read(sessionId) }; // moved meanwhile, or absent
    await shard.apply(stale.record, this.now);
    await old.remove(sessionId, stale.record.metadata.userId);
    return { shard, found: await shard.read(sessionId) };
  }

  /**
   * A read, pushing the session's expiry. `versioned: false` (a read whose caller needs no
   * version, e.g. getData) reads with a plain get (its record may be shared: copy what leaves);
   * it falls back to the versioned lookup (which also finds a session a rebalance has not moved
   * yet) only when the session is not there. A session due for an expiry rewrite comes back as
   * the rewrite's result (`session`).
   */
  private async access(
    sessionId: string,
    versioned: boolean,
  ): Promise<{ record: SessionRecord; version: string; now: number; expiresAt: number } | { session: Session }> {
    checkSessionId(sessionId);
    let shard = this.shardFor(sessionId);
    let record: SessionRecord | null = null;
    let version = '';
    if (!versioned) record = await shard.peek(sessionId);
    if (record === null) {
      const located = await this.locate(sessionId);
      shard = located.shard;
      if (located.found) {
        this.remember(sessionId, shard, located.found);
        record = located.found.record;
        version = located.found.version;
      }
    }
    if (!record || record.deleted) {
      this.known.delete(sessionId);
      throw notFound(sessionId);
    }
    const now = this.now();
    const windowMs = record.ttlSeconds * 1000;
    const left = record.expiresAt - now;
    if (left < windowMs / 2) {
      // Rewrite the expiry so the replicas learn it too (see the header comment).
      return { session: await this.mutate(sessionId, () => undefined) };
    }
    const pushedAt = this.touched.get(sessionId);
    if (pushedAt === undefined || now - pushedAt >= windowMs / TOUCH_GRANULARITY) {
      if (!(await shard.touch(sessionId, Math.max(windowMs, left) / 1000))) throw notFound(sessionId);
      if (this.touched.size >= MAX_TOUCH_MEMORY) this.touched.clear();
      this.touched.set(sessionId, now);
    }
    return { record, version, now, expiresAt: now + Math.max(windowMs, left) };
  }

  /**
   * Read → change → compare-and-set, again on a concurrent write. Every write refreshes the
   * sliding expiry; one that would exceed the size cap is refused before anything is written.
   */
  private mutate(
    sessionId: string,
    change: (record: SessionRecord, stamp: Stamp, now: number, current: SessionRecord) => void,
  ): Promise<Session> {
    try {
      checkSessionId(sessionId);
    } catch (err) {
      return Promise.reject(err);
    }
    // Writers in this process take turns per session: a CAS retry storm among ourselves is waste.
    // With no write of ours in flight it starts at once (no turn of the microtask queue).
    const previous = this.writing.get(sessionId);
    const write = () => this.mutateNow(sessionId, change);
    const mine = previous === undefined ? write() : previous.then(write, write);
    const done = (): void => {
      if (this.writing.get(sessionId) === tail) this.writing.delete(sessionId);
    };
    const tail: Promise<void> = mine.then(done, done);
    this.writing.set(sessionId, tail);
    return mine;
  }

  private async mutateNow(
    sessionId: string,
    change: (record: SessionRecord, stamp: Stamp, now: number, current: SessionRecord) => void,
  ): Promise<Session> {
    // The record this client last saw: right unless someone else wrote since (then the
    // compare-and-set fails and returns the stored one).
    let seen: { shard: SessionShard; found: VersionedRecord | null } | undefined = this.known.get(sessionId);
    for (let attempt = 0, contended = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      // Another process (or region's replication) wrote in between: back off a little, with jitter.
      if (contended > 0) await new Promise((r) => setTimeout(r, Math.random() * 5 * contended));
      const { shard, found } = seen ?? (await this.locate(sessionId));
      seen = undefined;
      if (!found || found.record.deleted) {
        this.known.delete(sessionId);
        throw notFound(sessionId);
      }
      const now = this.now();
      const current = found.record;
      // A shallow copy is enough: changes replace data entries and top-level fields, never
      // change an entry or the metadata in place (and `current` may be the remembered record).
      const record: SessionRecord = { ...current, data: { ...current.data } };
      const stamp = nextStamp(current, now, this.region);
      record.lastAccessed = Math.max(current.lastAccessed, now);
      record.writtenAt = Math.max(current.writtenAt, now);
      record.expiresAt = Math.max(current.expiresAt, now + current.ttlSeconds * 1000);
      change(record, stamp, now, current);
      const bytes = this.checkSize(record);
      const result = await shard.write(record, found.version, now, bytes);
      if (result.ok) {
        this.remember(sessionId, shard, { record, bytes, version: result.version! });
        return view(record, result.version!);
      }
      this.known.delete(sessionId);
      if (result.current !== null && result.version !== null) {
        // Redo the change on the stored record; only a second miss in a row is contention.
        seen = {
          shard,
          found: { record: decodeRecord(result.current), bytes: result.current, version: result.version },
        };
        if (attempt > 0) contended++;
      } else {
        contended++; // gone from this shard (expired, deleted, or moved by a rebalance): look it up
      }
    }
    throw new SessionStoreError('Conflict', `session ${sessionId}: too many concurrent writers, try again`);
  }

  private remember(sessionId: string, shard: SessionShard, found: VersionedRecord): void {
    if (this.known.size >= MAX_KNOWN_SESSIONS && !this.known.has(sessionId)) this.known.clear();
    this.known.set(sessionId, { shard, found });
  }

  private checkTtl(value: unknown, field: string): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_TTL_SECONDS) {
      throw new SessionStoreError(
        'InvalidTtl',
        `${field} must be a whole number of seconds from 1 to ${MAX_TTL_SECONDS}, got ${String(value)}`,
      );
    }
    return value;
  }

  private checkMetadata(input: CreateSessionInput): SessionMetadata {
    if (typeof input?.userId !== 'string' || input.userId === '' || input.userId.length > 256) {
      throw new SessionStoreError('InvalidArgument', 'metadata.userId must be a non-empty string (up to 256)');
    }
    const region = input.region ?? this.region;
    this.ring(region);
    const attributes = input.attributes ?? {};
    for (const [k, v] of Object.entries(attributes)) {
      if (typeof v !== 'string')
        throw new SessionStoreError('InvalidArgument', `metadata.attributes.${k} must be a string`);
    }
    return { userId: input.userId, region, clientId: input.clientId ?? '', attributes: { ...attributes } };
  }

  private checkSize(record: SessionRecord): Uint8Array {
    const bytes = Buffer.from(recordText(record), 'utf8'); // encodeRecord's bytes, sooner
    if (bytes.length > this.maxBytes) {
      throw new SessionStoreError(
        'SessionTooLarge',
        `session ${record.sessionId} would be ${bytes.length} bytes, over the cap of ${this.maxBytes}; nothing was written`,
      );
    }
    return bytes;
  }
}

function view(record: SessionRecord, version: string): Session {
  const data: Record<string, SessionValue> = {};
  for (const [key, entry] of Object.entries(record.data))
    if (entry.value !== null) data[key] = decodeValue(entry.value);
  return {
    sessionId: record.sessionId,
    // A copy: the caller may change it, and this client keeps the record (see `known`).
    metadata: { ...record.metadata, attributes: { ...record.metadata.attributes } },
    data,
    createdAt: record.createdAt,
    lastAccessed: record.lastAccessed,
    expiresAt: record.expiresAt,
    version,
  };
}

/** A value the caller may change without touching a record this client keeps (bytes are new already). */
function copyValue(value: SessionValue): SessionValue {
  return value instanceof Uint8Array ? value : copyJson(value);
}

/** A deep copy of a decoded JSON value (plain arrays, objects and scalars only). */
function copyJson(value: JsonValue): JsonValue {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(copyJson);
  const out: { [key: string]: JsonValue } = {};
  for (const key of Object.keys(value)) {
    // JSON.parse makes "__proto__" an own key; an assignment would set the prototype instead.
    if (key === '__proto__')
      Object.defineProperty(out, key, {
        value: copyJson(value[key]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    else out[key] = copyJson(value[key]);
  }
  return out;
}

function notFound(sessionId: string): SessionStoreError {
  return new SessionStoreError('SessionNotFound', `session ${sessionId} does not exist (unknown, expired or deleted)`);
}

function checkSessionId(sessionId: unknown): void {
  if (typeof sessionId !== 'string' || sessionId === '' || sessionId.length > 256) {
    throw new SessionStoreError('InvalidArgument', 'sessionId must be a non-empty string (up to 256)');
  }
}

function checkDataKey(key: unknown): void {
  if (typeof key !== 'string' || key === '' || key.length > MAX_DATA_KEY_LENGTH) {
    throw new SessionStoreError(
      'InvalidArgument',
      `data key must be a non-empty string (up to ${MAX_DATA_KEY_LENGTH})`,
    );
  }
  // Assigned to a plain object it would set the object's prototype: the value would be lost.
  if (key === '__proto__') throw new SessionStoreError('InvalidArgument', 'data key must not be "__proto__"');
}

function checkValue(value: unknown): SessionValue {
  if (value instanceof Uint8Array) return value;
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') {
    throw new SessionStoreError('InvalidArgument', 'value must be bytes (Uint8Array) or JSON');
  }
  return value as JsonValue;
}

function encodeCursor(position: ListCursor): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

function decodeCursor(cursor: string | null, shards: number): ListCursor | null {
  if (cursor === null) return { shard: 0, cursor: null };
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as ListCursor;
    if (Number.isInteger(parsed.shard) && parsed.shard >= 0 && parsed.shard < shards) return parsed;
  } catch {
    // reported below
  }
  throw new SessionStoreError('InvalidArgument', 'cursor is not one this store returned');
}
