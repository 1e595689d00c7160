// The session store's client: the fast path. Reads and single-key writes call the shard backends
// directly (no workflow), on handles from a BackendPool: each call goes through the backend's
// guard (breaker, bulkhead, metrics) built from the same backend config the worker uses. Stores
// in one process share the pool's guards (BackendPool.shared() by default; a worker's pool puts
// the calls on that worker's /metrics and /health). After a write commits in this
// client's region, a signal-with-start hands the session to its replication workflow, which
// carries it to the other regions. A write call returns once such a signal covering it has been
// accepted; while one is in flight for a session, the writes meanwhile share a single follow-up
// (group commit), and the signal wait happens after the writer's turn, so it does not hold up
// the next write to the session.
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
  REPLICATION_STATUS_QUERY,
  replicationWorkflowId,
  SESSION_CHANGED_SIGNAL,
  type ReplicationInput,
  type ReplicationStatus,
} from '../workflows/session-store/input';
import {
  decodeValue,
  encodeRecord,
  encodeValue,
  nextStamp,
  type JsonValue,
  type SessionMetadata,
  type SessionRecord,
  type SessionValue,
  type Stamp,
} from '../workflows/session-store/session-record';
import { SESSION_STORE, SHARD_CAPABILITIES } from '../workflows/session-store/slots';
import { PRISM_PATTERN } from '../workflows/search-attributes';
import { SessionStoreError } from './session-store-errors';
import { GroupSignal } from './group-signal';

export { SessionStoreError } from './session-store-errors';
export type { SessionValue, JsonValue, SessionMetadata } from '../workflows/session-store/session-record';

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
  /** Where replication workflows run; without it, writes stay in this client's region. */
  replication?: { client: Client; taskQueue: string; idleTimeoutMs?: number };
  /**
   * Where the shard backends are opened and guarded (default: BackendPool.shared(), one per
   * process). Pass a worker's `worker.backends` to share its guards and show on its /metrics.
   */
  pool?: BackendPool;
  /** Milliseconds since the epoch (tests may shift it). */
  now?: () => number;
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
  /** Replication signals, one in flight per session; the writes meanwhile share the next one. */
  private readonly signals = new GroupSignal((sessionId, ts) => this.signal(sessionId, ts));
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
      replication?: { client: Client; taskQueue?: string };
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
        idleTimeoutMs: settings.replication_idle_timeout_ms,
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
    const result = await this.shardFor(sessionId).write(record, null, now, bytes);
    if (!result.ok) throw new SessionStoreError('Conflict', `session id ${sessionId} is already taken`);
    await this.replicate(sessionId, record.writtenAt);
    return view(record, result.version!);
  }

  /** The whole session; counts as an access (pushes its expiry). */
  async getSession(sessionId: string): Promise<Session> {
    return this.access(sessionId);
  }

  /** One data value, or undefined when the session has no such key; counts as an access. */
  async getData(sessionId: string, key: string): Promise<SessionValue | undefined> {
    checkDataKey(key);
    return (await this.access(sessionId)).data[key];
  }

  async setData(sessionId: string, key: string, value: SessionValue): Promise<Session> {
    checkDataKey(key);
    const stored = encodeValue(checkValue(value));
    return this.mutate(sessionId, (record, stamp) => {
      record.data[key] = { value: stored, stamp };
    });
  }

  /** Removes one key; returns whether it was there. */
  async deleteData(sessionId: string, key: string): Promise<boolean> {
    checkDataKey(key);
    let existed = false;
    await this.mutate(sessionId, (record, stamp) => {
      existed = record.data[key] !== undefined && record.data[key].value !== null;
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

  /** Where replication of a session stands, per region (null when it never ran). */
  async replicationStatus(sessionId: string): Promise<ReplicationStatus | null> {
    const replication = this.options.replication;
    if (!replication) return null;
    try {
      return await replication.client.workflow
        .getHandle(replicationWorkflowId(sessionId))
        .query<ReplicationStatus>(REPLICATION_STATUS_QUERY);
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

  private async access(sessionId: string): Promise<Session> {
    checkSessionId(sessionId);
    const { shard, found } = await this.locate(sessionId);
    if (!found || found.record.deleted) throw notFound(sessionId);
    const now = this.now();
    const { record } = found;
    const windowMs = record.ttlSeconds * 1000;
    const left = record.expiresAt - now;
    if (left < windowMs / 2) {
      // Rewrite the expiry so the replicas learn it too (see the header comment).
      return this.mutate(sessionId, () => undefined);
    }
    const pushedAt = this.touched.get(sessionId);
    if (pushedAt === undefined || now - pushedAt >= windowMs / TOUCH_GRANULARITY) {
      if (!(await shard.touch(sessionId, Math.max(windowMs, left) / 1000))) throw notFound(sessionId);
      if (this.touched.size >= MAX_TOUCH_MEMORY) this.touched.clear();
      this.touched.set(sessionId, now);
    }
    return { ...view(record, found.version), lastAccessed: now, expiresAt: now + Math.max(windowMs, left) };
  }

  /**
   * Read → change → compare-and-set, again on a concurrent write. Every write refreshes the
   * sliding expiry; one that would exceed the size cap is refused before anything is written.
   */
  private async mutate(
    sessionId: string,
    change: (record: SessionRecord, stamp: Stamp, now: number, current: SessionRecord) => void,
  ): Promise<Session> {
    checkSessionId(sessionId);
    // Writers in this process take turns per session: a CAS retry storm among ourselves is waste.
    // The turn ends with the compare-and-set: the next writer need not wait for our signal.
    const previous = this.writing.get(sessionId) ?? Promise.resolve();
    const mine = previous.then(
      () => this.mutateNow(sessionId, change),
      () => this.mutateNow(sessionId, change),
    );
    const tail = mine.then(
      () => undefined,
      () => undefined,
    );
    this.writing.set(sessionId, tail);
    void tail.then(() => {
      if (this.writing.get(sessionId) === tail) this.writing.delete(sessionId);
    });
    const { session, writtenAt } = await mine;
    await this.replicate(sessionId, writtenAt);
    return session;
  }

  private async mutateNow(
    sessionId: string,
    change: (record: SessionRecord, stamp: Stamp, now: number, current: SessionRecord) => void,
  ): Promise<{ session: Session; writtenAt: number }> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      // Another process (or region's replication) wrote in between: back off a little, with jitter.
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
      const { shard, found } = await this.locate(sessionId);
      if (!found || found.record.deleted) throw notFound(sessionId);
      const now = this.now();
      const current = found.record;
      const record: SessionRecord = structuredClone(current);
      const stamp = nextStamp(current, now, this.region);
      record.lastAccessed = Math.max(current.lastAccessed, now);
      record.writtenAt = Math.max(current.writtenAt, now);
      record.expiresAt = Math.max(current.expiresAt, now + current.ttlSeconds * 1000);
      change(record, stamp, now, current);
      const bytes = this.checkSize(record);
      const result = await shard.write(record, found.version, now, bytes);
      if (!result.ok) continue;
      return { session: view(record, result.version!), writtenAt: record.writtenAt };
    }
    throw new SessionStoreError('Conflict', `session ${sessionId}: too many concurrent writers, try again`);
  }

  /**
   * Resolves once Temporal has accepted a replication signal for this session covering `ts`
   * (group commit: see GroupSignal; the workflow copies the latest record whatever the ts).
   */
  private async replicate(sessionId: string, ts: number): Promise<void> {
    if (!this.options.replication || this.rings.size < 2) return;
    await this.signals.submit(sessionId, ts);
  }

  private async signal(sessionId: string, ts: number): Promise<void> {
    const replication = this.options.replication!;
    const input: ReplicationInput = {
      sessionId,
      regions: this.options.regions,
      virtualNodes: this.options.virtualNodes,
      idleTimeoutMs: replication.idleTimeoutMs,
    };
    await replication.client.workflow.signalWithStart('sessionReplicationWorkflow', {
      workflowId: replicationWorkflowId(sessionId),
      taskQueue: replication.taskQueue,
      args: [input],
      signal: SESSION_CHANGED_SIGNAL,
      signalArgs: [{ region: this.region, ts }],
      typedSearchAttributes: [{ key: PRISM_PATTERN, value: SESSION_STORE }],
    });
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
    const bytes = encodeRecord(record);
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
    metadata: record.metadata,
    data,
    createdAt: record.createdAt,
    lastAccessed: record.lastAccessed,
    expiresAt: record.expiresAt,
    version,
  };
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
