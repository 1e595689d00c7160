// Registry operations over a keyvalue driver: the one implementation behind the registry slot's
// activities and the client's direct (fast) path. State lives only in the backend.
//
// Layout: `mcr/<registry>/id/<identity>` → JSON record. Expiry: the record always carries
// expiresAt (so every backend filters expired entries the same way); with keyvalue_ttl the
// backend also drops the key, otherwise enumeration deletes expired records lazily. Registration
// is a compare-and-set when the backend offers keyvalue_cas (no lost conflicts), get-then-set
// otherwise.
import type {
  Capability,
  KeyValueBatch,
  KeyValueCas,
  KeyValueHash,
  KeyValueTtl,
  Ops,
} from '../../drivers/capabilities';
import { compileFilter, matches, type FilterNode, type Metadata } from '../../workflows/multicast-registry/filter';
import type {
  DeliveredPage,
  EnumeratePage,
  Registration,
  TargetReport,
} from '../../workflows/multicast-registry/input';

export type RegistryDriver = Ops<'keyvalue_basic' | 'keyvalue_scan'> &
  Partial<KeyValueTtl & KeyValueCas & KeyValueBatch & KeyValueHash> & { capabilities?: ReadonlySet<Capability> };

export type RegistryErrorType =
  'IdentityConflict' | 'IdentityNotFound' | 'InvalidFilter' | 'InvalidInput' | (string & {});

export class RegistryError extends Error {
  constructor(
    readonly type: RegistryErrorType,
    message: string,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

interface StoredRecord {
  v: 1;
  identity: string;
  metadata: Metadata;
  registeredAt: number;
  expiresAt: number | null;
  ttlSeconds: number | null;
}

export function identityPrefix(registry: string): string {
  return `mcr/${registry}/id/`;
}

/**
 * Where a multicast marks the identities it has taken on (outside identityPrefix, so never
 * enumerated): one map at this key where the backend keeps maps (see claim-marks.ts).
 */
export function claimKey(registry: string, multicastId: string): string {
  return `mcr/${registry}/sent/${multicastId}`;
}

/**
 * The same marks one key each, below claimKey: multicasts begun before marks moved into one map,
 * and backends without keyvalue_hash.
 */
export function claimPrefix(registry: string, multicastId: string): string {
  return `${claimKey(registry, multicastId)}/`;
}

/**
 * Where a multicast's report rows live: one row per page (and per page's retries), each listing
 * the targets it delivered. The workflow keeps counts and failures; the delivered list stays here.
 */
export function reportPrefix(registry: string, reportId: string): string {
  return `mcr/${registry}/report/${reportId}/`;
}

/** One report row: targets delivered, with their attempts (one number for the whole row, or one each). */
interface ReportRow {
  identities: string[];
  attempts: number | number[];
}

/** A report row as a key and its value; none for a row without targets. */
export function reportRow(
  registry: string,
  reportId: string,
  row: string,
  identities: string[],
  attempts: number | number[],
): { key: string; value: string } | undefined {
  if (identities.length === 0) return undefined;
  return {
    key: reportPrefix(registry, reportId) + row,
    value: JSON.stringify({ identities, attempts } satisfies ReportRow),
  };
}

export interface DeliveredRequest {
  registry: string;
  reportId: string;
  cursor: string | null;
  /** Report rows (pages of the multicast) to read in this call. */
  rows: number;
}

/** Keys per scan call of enumerate: the next chunk is scanned while this one's records are read. */
const SCAN_CHUNK = 1_000;

/** How long a multicast's marks stay (with keyvalue_ttl): far longer than any multicast runs. */
export const CLAIM_TTL_SECONDS = 7 * 24 * 3600;

/** Who claims a page of targets: the multicast, and a token the same page's retries share. */
export interface TargetClaim {
  multicastId: string;
  token: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function encode(record: StoredRecord): Uint8Array {
  return encoder.encode(JSON.stringify(record));
}

function decode(bytes: Uint8Array | null): StoredRecord | null {
  if (bytes === null) return null;
  try {
    const parsed = JSON.parse(decoder.decode(bytes)) as StoredRecord;
    return parsed && parsed.v === 1 ? parsed : null;
  } catch {
    return null;
  }
}

function toRegistration(record: StoredRecord): Registration {
  return {
    identity: record.identity,
    metadata: record.metadata,
    registeredAt: new Date(record.registeredAt).toISOString(),
    expiresAt: record.expiresAt === null ? null : new Date(record.expiresAt).toISOString(),
  };
}

export interface EnumerateRequest {
  registry: string;
  filter: Record<string, unknown>;
  limit: number;
  cursor: string | null;
}

/** What a caller of enumerate hears while the scan goes on. */
export interface EnumerateOptions {
  /** Called after each scan call with the cursor so far (a heartbeat). */
  onProgress?: (cursor: string | null) => void;
  /**
   * Called with each scan call's matching identities while the scan goes on (a multicast page
   * sends them). With it, the page's registrations are not collected: the result lists none.
   */
  onMatches?: (identities: string[]) => void;
}

export class RegistryStore {
  private readonly hasTtl: boolean;
  private readonly hasCas: boolean;
  private readonly hasBatch: boolean;
  private readonly hasMaps: boolean;

  constructor(
    private readonly driver: RegistryDriver,
    private readonly clock: () => number = Date.now,
  ) {
    const caps = driver.capabilities;
    const has = (c: Capability, method: keyof RegistryDriver): boolean =>
      (caps ? caps.has(c) : true) && typeof driver[method] === 'function';
    this.hasTtl = has('keyvalue_ttl', 'setWithTtl');
    this.hasCas = has('keyvalue_cas', 'compareAndSet');
    this.hasBatch = has('keyvalue_batch', 'getMany');
    this.hasMaps = has('keyvalue_hash', 'getFields');
  }

  /** Whether the backend keeps a map of fields under one key (keyvalue_hash). */
  get keepsMaps(): boolean {
    return this.hasMaps;
  }

  private live(record: StoredRecord | null, now = this.clock()): record is StoredRecord {
    return record !== null && (record.expiresAt === null || record.expiresAt > now);
  }

  /** Writes a record (with its lease, when the backend has TTLs); `expected` makes it a CAS. */
  private async write(key: string, record: StoredRecord, expected?: string | null): Promise<boolean> {
    const value = encode(record);
    const ttl = record.ttlSeconds ?? undefined;
    if (expected !== undefined && this.hasCas) {
      return (await this.driver.compareAndSet!(key, value, expected, this.hasTtl ? ttl : undefined)).ok;
    }
    if (ttl !== undefined && this.hasTtl) await this.driver.setWithTtl!(key, value, ttl);
    else await this.driver.set(key, value);
    return true;
  }

  private async read(key: string): Promise<{ record: StoredRecord | null; version: string | null }> {
    if (this.hasCas) {
      const v = await this.driver.getVersioned!(key);
      return { record: v ? decode(v.value) : null, version: v?.version ?? null };
    }
    return { record: decode(await this.driver.get(key)), version: null };
  }

  async register(input: {
    registry: string;
    identity: string;
    metadata: Metadata;
    ttlSeconds?: number;
    replace: boolean;
  }): Promise<Registration> {
    const key = identityPrefix(input.registry) + input.identity;
    for (let attempt = 0; attempt < 5; attempt++) {
      const { record: existing, version } = await this.read(key);
      const now = this.clock();
      if (this.live(existing, now) && !input.replace) {
        throw new RegistryError(
          'IdentityConflict',
          `identity "${input.identity}" is already registered in "${input.registry}" (pass replace to overwrite)`,
        );
      }
      const ttl = input.ttlSeconds ?? null;
      const record: StoredRecord = {
        v: 1,
        identity: input.identity,
        metadata: input.metadata,
        registeredAt: now,
        expiresAt: ttl === null ? null : now + ttl * 1000,
        ttlSeconds: ttl,
      };
      // A lost CAS means someone else wrote in between: look again (it may now be a conflict).
      if (await this.write(key, record, existing === null ? null : version)) return toRegistration(record);
    }
    throw new RegistryError('IdentityConflict', `identity "${input.identity}" is being registered concurrently`);
  }

  /** Renews the lease; an unknown or expired identity must register again. */
  async heartbeat(input: { registry: string; identity: string; ttlSeconds?: number }): Promise<Registration> {
    const key = identityPrefix(input.registry) + input.identity;
    for (let attempt = 0; attempt < 5; attempt++) {
      const { record, version } = await this.read(key);
      const now = this.clock();
      if (!this.live(record, now)) {
        throw new RegistryError(
          'IdentityNotFound',
          `identity "${input.identity}" is not registered in "${input.registry}" (or its lease expired)`,
        );
      }
      const ttl = input.ttlSeconds ?? record.ttlSeconds;
      if (ttl === null) return toRegistration(record);
      const renewed: StoredRecord = { ...record, ttlSeconds: ttl, expiresAt: now + ttl * 1000 };
      if (await this.write(key, renewed, version)) return toRegistration(renewed);
    }
    throw new RegistryError('IdentityConflict', `identity "${input.identity}" changed during the heartbeat`);
  }

  /** Idempotent: removing an absent identity is not an error. */
  async unregister(input: { registry: string; identity: string }): Promise<{ removed: boolean }> {
    const key = identityPrefix(input.registry) + input.identity;
    const existing = decode(await this.driver.get(key));
    const existed = await this.driver.delete(key);
    return { removed: existed && this.live(existing) };
  }

  private async readMany(keys: string[]): Promise<(StoredRecord | null)[]> {
    if (keys.length === 0) return [];
    return (await this.readRaw(keys)).map(decode);
  }

  /**
   * The identities (of one page) this multicast has not taken on yet, now marked as taken: one
   * batch read and one batch of writes. Enumeration may yield an identity twice (SCAN repeats, a
   * scan started again after the registry's server changed); only its first claim returns it. A
   * retry of the same claim (same token) gets the same answer, so a lost reply loses no target.
   * Paged multicasts claim through PageClaims instead, whose marks also say which attempt took a
   * target.
   */
  async claim(registry: string, claim: TargetClaim, identities: string[]): Promise<string[]> {
    const unique = [...new Set(identities)];
    if (unique.length === 0) return [];
    const prefix = claimPrefix(registry, claim.multicastId);
    const marks = await this.readValues(unique.map((identity) => prefix + identity));
    const fresh = unique.filter((_, i) => marks[i] === null || marks[i] === claim.token);
    await this.writeValues(fresh.map((identity) => ({ key: prefix + identity, value: claim.token })));
    return fresh;
  }

  /** Values of a multicast's bookkeeping keys (claim marks, page records) as text, null where absent. */
  async readValues(keys: string[]): Promise<(string | null)[]> {
    if (keys.length === 0) return [];
    return (await this.readRaw(keys)).map((value) => (value === null ? null : decoder.decode(value)));
  }

  /**
   * Writes a multicast's bookkeeping keys: one write for them all where the backend can batch, each
   * expiring after CLAIM_TTL_SECONDS where it has TTLs.
   */
  async writeValues(entries: { key: string; value: string }[]): Promise<void> {
    if (entries.length === 0) return;
    const encoded = entries.map((e) => ({ key: e.key, value: encoder.encode(e.value) }));
    if (this.hasBatch) {
      await this.driver.setMany!(encoded, this.hasTtl ? { ttlSeconds: CLAIM_TTL_SECONDS } : undefined);
    } else if (this.hasTtl) {
      await Promise.all(encoded.map((e) => this.driver.setWithTtl!(e.key, e.value, CLAIM_TTL_SECONDS)));
    } else {
      await Promise.all(encoded.map((e) => this.driver.set(e.key, e.value)));
    }
  }

  /** Fields of one of a multicast's bookkeeping maps (keyvalue_hash) as text, null where absent. */
  async readFields(key: string, fields: string[]): Promise<(string | null)[]> {
    if (fields.length === 0) return [];
    const values = await this.driver.getFields!(key, fields);
    return values.map((value) => (value === null ? null : decoder.decode(value)));
  }

  /**
   * Writes fields of one of a multicast's bookkeeping maps in one call; the map expires
   * CLAIM_TTL_SECONDS after its last write where the backend has TTLs.
   */
  async writeFields(key: string, entries: { field: string; value: string }[]): Promise<void> {
    if (entries.length === 0) return;
    // Fields mostly share a value (a page's claim marks all name the attempt): encoded once each.
    const encoded = new Map<string, Uint8Array>();
    const bytesOf = (value: string): Uint8Array => {
      let bytes = encoded.get(value);
      if (bytes === undefined) encoded.set(value, (bytes = encoder.encode(value)));
      return bytes;
    };
    await this.driver.setFields!(
      key,
      entries.map((e) => ({ field: e.field, value: bytesOf(e.value) })),
      this.hasTtl ? { ttlSeconds: CLAIM_TTL_SECONDS } : undefined,
    );
  }

  /** Writes one report row (one write, whatever its size); writing the same row again replaces it. */
  async recordDelivered(
    registry: string,
    reportId: string,
    row: string,
    identities: string[],
    attempts: number | number[],
  ): Promise<void> {
    const entry = reportRow(registry, reportId, row, identities, attempts);
    if (entry) await this.writeValues([entry]);
  }

  /**
   * The delivered targets of a multicast, a few report rows at a time. A scan may return a row
   * again (see KeyValueScan), so a later page may repeat targets: readers of the whole list drop
   * repeats themselves.
   */
  async delivered(request: DeliveredRequest): Promise<DeliveredPage> {
    const page = await this.driver.scan(reportPrefix(request.registry, request.reportId), {
      cursor: request.cursor,
      limit: request.rows,
    });
    const values = await this.readRaw(page.keys);
    const targets: TargetReport[] = [];
    for (const value of values) {
      if (value === null) continue;
      const row = JSON.parse(decoder.decode(value)) as ReportRow;
      row.identities.forEach((identity, i) =>
        targets.push({
          identity,
          status: 'delivered',
          attempts: typeof row.attempts === 'number' ? row.attempts : row.attempts[i],
        }),
      );
    }
    return { targets, cursor: page.cursor };
  }

  private async readRaw(keys: string[]): Promise<(Uint8Array | null)[]> {
    if (this.hasBatch) return this.driver.getMany!(keys);
    return Promise.all(keys.map((k) => this.driver.get(k)));
  }

  /**
   * A page of live identities matching the filter. Each scan call asks for no more keys than the
   * page still needs, so every key scanned is either returned or rejected, never left over: the
   * driver's cursor alone resumes without gaps. The driver may return a key again (see
   * KeyValueScan), so may this: a multicast claims its targets (claim) to take each on once.
   *
   * The scan runs ahead of the reads: keys come in chunks of SCAN_CHUNK, and the next chunk is
   * scanned while the previous ones' records are read, as long as the page would still need a whole
   * chunk were every key in flight to match. Records are read, and matches handed on, in scan order.
   */
  async enumerate(request: EnumerateRequest, options: EnumerateOptions = {}): Promise<EnumeratePage> {
    const { onProgress, onMatches } = options;
    let filter: FilterNode;
    try {
      filter = compileFilter(request.filter);
    } catch (err) {
      throw new RegistryError('InvalidFilter', (err as Error).message);
    }
    const prefix = identityPrefix(request.registry);
    const found: Registration[] = [];
    /** Matches so far, and keys scanned whose records are not read yet. */
    let count = 0;
    let unread = 0;
    const readChunk = async (keys: string[], cursor: string | null): Promise<void> => {
      const records = await this.readMany(keys);
      const now = this.clock();
      const expired: string[] = [];
      const matched: StoredRecord[] = [];
      records.forEach((record, i) => {
        if (record === null) return; // deleted (or expired by the backend) since the scan
        if (!this.live(record, now)) expired.push(keys[i]);
        else if (matches(filter, record.metadata)) matched.push(record);
      });
      count += matched.length;
      unread -= keys.length;
      // A caller may start on these matches while the scan goes on (a multicast page sends them).
      if (onMatches) {
        if (matched.length > 0) onMatches(matched.map((r) => r.identity));
      } else {
        for (const record of matched) found.push(toRegistration(record));
      }
      // Backends without TTLs keep expired records until someone looks: drop them now.
      if (!this.hasTtl && expired.length > 0) await Promise.all(expired.map((k) => this.driver.delete(k)));
      onProgress?.(cursor);
    };
    let reads: Promise<void> = Promise.resolve();
    let inFlight = false;
    let readFailed = false;
    let cursor = request.cursor;
    let first = true;
    while (first || cursor !== null) {
      const need = request.limit - count - unread;
      if (readFailed || (inFlight && need < SCAN_CHUNK)) {
        // Near the page's end, the next chunk's size waits for every read: it is then the same
        // whatever the reads' timing, so a retry of the page from the same cursor meets the same keys.
        await reads;
        inFlight = false;
        continue;
      }
      if (need <= 0) break;
      first = false;
      const page = await this.driver.scan(prefix, { cursor, limit: Math.min(SCAN_CHUNK, need) });
      cursor = page.cursor;
      unread += page.keys.length;
      const at = cursor;
      reads = reads.then(() => readChunk(page.keys, at));
      // Awaited before the page ends (at once once one fails); meanwhile not an unhandled rejection.
      reads.catch(() => (readFailed = true));
      inFlight = true;
    }
    await reads;
    return { identities: found, cursor };
  }
}
