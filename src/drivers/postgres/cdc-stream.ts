// cdc_source's streamChanges: a logical replication stream (START_REPLICATION SLOT … LOGICAL with
// pgoutput, proto_version 1) over a replication connection, so a change reaches the caller as soon
// as its transaction commits: no polling, and an idle stream costs nothing but a status update
// now and then.
//
// The replication protocol (copy-both, XLogData framing, keepalives, status-update encoding) is
// pg-logical-replication's, with pg underneath; the pgoutput messages are decoded by our own
// pgoutput.ts (through a small plugin), the same decoder the one-shot readChanges uses, so both
// paths produce identical changes and event ids. The library is set up so that it never confirms
// anything by itself (acknowledge.auto off, no timed acknowledgement: both would confirm what was
// received, not what the sink accepted), and with its flow control on, so a slow consumer pauses
// the socket instead of buffering without bound.
//
// Positions. A transaction's changes are followed by its commit's end LSN; a non-transactional
// logical message (the source heartbeat) is a position of its own. next() returns the last such
// position its batch completes, and confirm(position) sends it as the standby status update's flush
// position. Only confirm() moves the slot, and callers confirm only what the sink acknowledged.
// After a crash the server resends from the slot's confirmed position: at-least-once, with the
// same event ids (commit LSN + sequence). A position left inside a transaction by the one-shot
// read (cdc_positions) is honoured at the start: the changes it covers are skipped.
//
// Keepalives that ask for a reply are answered with the last confirmed position (never the
// keepalive's own: data received but not yet delivered may lie before it). An idle stream whose
// slot lags (WAL written by tables outside the publication) gets a source heartbeat every
// cdcHeartbeatIntervalMs (the source's `onIdle`), whose position, once confirmed, frees that WAL.
import { LogicalReplicationService } from 'pg-logical-replication';
import type { ClientConfig } from 'pg';
import type { CdcChangeStream, CdcStreamBatch } from '../capabilities';
import { DriverError, isDriverError } from '../errors';
import {
  KeyFinder,
  relationOf,
  rowChangeOf,
  truncationOf,
  type PendingChange,
  type Relation,
  type TxInfo,
} from './cdc-changes';
import type { PgContext } from './context';
import { decodePgOutput, formatLsn, parseLsn, pgTimestampToIso, type PgOutputMessage } from './pgoutput';
import { toDriverError } from './pg-errors';
import { DRIVER, quoteIdent } from './sql';

/** Received changes not yet taken by next(): past this, the socket is paused until next() catches up. */
const HIGH_WATER = 20_000;
/** A status update at least this often, whatever the server asks (its default timeout is 60 s). */
const STATUS_EVERY_MS = 10_000;

type Item = { kind: 'change'; pending: PendingChange } | { kind: 'position'; lsn: bigint };

/** What the plugin hands the data handler: a decoded message, or why it could not be decoded. */
type Decoded = PgOutputMessage | { tag: 'undecodable'; error: Error };

export interface StreamStart {
  slot: string;
  publication: string;
  /** The slot's confirmed position when the stream starts. */
  confirmed: bigint;
  /** A point inside the transaction at `lsn`: its changes up to `sequence` are delivered. */
  partial: { lsn: bigint; sequence: number } | null;
  /** Server version (server_version_num): logical messages need 14+. */
  serverVersion: number;
  /** Called every heartbeatIntervalMs while nothing is waiting to be taken (0: never). */
  heartbeatIntervalMs: number;
  onIdle: (confirmed: bigint) => Promise<void>;
}

/** The pgoutput plugin as pg-logical-replication drives it, decoding with pgoutput.ts. */
function pgoutputPlugin(publication: string, messages: boolean) {
  const literal = (text: string): string => `'${text.replace(/'/g, "''")}'`;
  return {
    options: {},
    name: 'pgoutput',
    start(client: { query(sql: string): Promise<unknown> }, slot: string, lsn: string): Promise<unknown> {
      // publication_names is a list of identifiers inside a string literal: quote the name as one.
      const options = [`proto_version '1'`, `publication_names ${literal(quoteIdent(publication))}`];
      if (messages) options.push(`messages 'true'`);
      return client.query(`START_REPLICATION SLOT ${quoteIdent(slot)} LOGICAL ${lsn} (${options.join(', ')})`);
    },
    // Runs inside pg's socket handler: a throw here would escape to the process, so it never throws.
    parse(buffer: Buffer): Decoded {
      try {
        return decodePgOutput(buffer);
      } catch (err) {
        return { tag: 'undecodable', error: err as Error };
      }
    },
  };
}

export class PgChangeStream implements CdcChangeStream {
  private readonly relations = new Map<number, Relation>();
  private readonly keys: KeyFinder;
  private items: Item[] = [];
  private head = 0;
  private bufferedChanges = 0;
  private tx: TxInfo | null = null;
  /** The last item next() took was a position (nothing of an unfinished transaction taken after it). */
  private lastWasPosition = true;
  private confirmedLsn: bigint;
  private lastDataAt = Date.now();
  private wake: (() => void) | undefined;
  private spaceWaiters: (() => void)[] = [];
  private error: Error | undefined;
  private closing = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private rejectFailed!: (err: Error) => void;
  readonly failed: Promise<never>;

  private constructor(
    ctx: PgContext,
    private readonly service: LogicalReplicationService,
    private readonly start: StreamStart,
  ) {
    this.keys = new KeyFinder(ctx, this.relations);
    this.confirmedLsn = start.confirmed;
    this.failed = new Promise<never>((_, reject) => (this.rejectFailed = reject));
    // Nobody may be listening yet: the rejection is also reported through next().
    this.failed.catch(() => undefined);
  }

  /** Starts streaming the slot; resolves once the server has accepted START_REPLICATION. */
  static async open(ctx: PgContext, connection: ClientConfig, start: StreamStart): Promise<PgChangeStream> {
    // A statement_timeout would end the replication command itself.
    const { statement_timeout: _ignored, ...config } = connection;
    const service = new LogicalReplicationService(config, {
      acknowledge: { auto: false, timeoutSeconds: 0 },
      flowControl: { enabled: true },
    });
    const stream = new PgChangeStream(ctx, service, start);
    service.on('data', (_lsn: string, message: Decoded) => stream.receive(message));
    service.on('heartbeat', (_lsn: string, _at: number, shouldRespond: boolean) => {
      if (shouldRespond) stream.sendStatus();
    });
    service.on('error', (err: Error) => stream.fail(err));
    const started = new Promise<void>((resolve) => service.once('start', () => resolve()));
    const plugin = pgoutputPlugin(start.publication, start.serverVersion >= 140000);
    // 0/0: from the slot's confirmed position.
    service.subscribe(plugin as never, start.slot, '0/0').then(
      () => stream.fail(new Error('the server ended the replication stream')),
      (err: unknown) => stream.fail(err),
    );
    try {
      await Promise.race([started, stream.failed]);
    } catch (err) {
      await stream.close();
      throw err;
    }
    stream.every(STATUS_EVERY_MS, () => stream.sendStatus());
    if (start.heartbeatIntervalMs > 0) {
      stream.every(start.heartbeatIntervalMs, () => {
        const idle = stream.head === stream.items.length && Date.now() - stream.lastDataAt >= start.heartbeatIntervalMs;
        if (idle && !stream.closing) void start.onIdle(stream.confirmedLsn).catch(() => undefined);
      });
    }
    return stream;
  }

  get confirmed(): string {
    return formatLsn(this.confirmedLsn);
  }

  async next(options: { limit: number; signal?: AbortSignal }): Promise<CdcStreamBatch> {
    const limit = Math.max(1, Math.floor(options.limit));
    const signal = options.signal;
    while (this.head === this.items.length) {
      if (this.error) throw this.error;
      if (signal?.aborted || this.closing) return { changes: [], position: null, complete: this.lastWasPosition };
      let aborted: (() => void) | undefined;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        aborted = () => resolve();
        signal?.addEventListener('abort', aborted, { once: true });
      });
      // One wait per batch on the same signal: listeners must not pile up.
      if (aborted) signal?.removeEventListener('abort', aborted);
      this.wake = undefined;
    }
    const taken: PendingChange[] = [];
    let position: bigint | null = null;
    while (this.head < this.items.length) {
      const item = this.items[this.head]!;
      if (item.kind === 'change') {
        if (taken.length >= limit) break;
        taken.push(item.pending);
      } else {
        position = item.lsn;
      }
      this.lastWasPosition = item.kind === 'position';
      this.head++;
    }
    this.bufferedChanges -= taken.length;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    }
    if (this.bufferedChanges < HIGH_WATER) for (const resume of this.spaceWaiters.splice(0)) resume();
    await this.keys.fill(taken);
    return {
      changes: taken.map((p) => p.change),
      position: position === null ? null : formatLsn(position),
      complete: this.lastWasPosition,
    };
  }

  confirm(position: string): void {
    const lsn = parseLsn(position.split('#')[0] ?? '');
    if (lsn === null) throw new DriverError(DRIVER, 'InvalidArgument', `not a position: ${JSON.stringify(position)}`);
    if (lsn <= this.confirmedLsn) return;
    this.confirmedLsn = lsn;
    this.sendStatus();
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.sendStatus();
    this.closing = true;
    for (const timer of this.timers) clearInterval(timer);
    for (const resume of this.spaceWaiters.splice(0)) resume();
    this.wake?.();
    await this.service.destroy().catch(() => undefined);
  }

  /** One pgoutput message, in stream order; resolves when there is room for more. */
  private receive(message: Decoded): Promise<void> | undefined {
    if (this.closing || this.error) return undefined;
    this.lastDataAt = Date.now();
    try {
      this.apply(message);
    } catch (err) {
      this.fail(err);
      return undefined;
    }
    this.wake?.();
    if (this.bufferedChanges < HIGH_WATER) return undefined;
    return new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
  }

  private apply(message: Decoded): void {
    switch (message.tag) {
      case 'undecodable':
        throw new DriverError(DRIVER, 'Unsupported', `cannot decode a pgoutput message: ${message.error.message}`, {
          cause: message.error,
        });
      case 'begin':
        this.tx = {
          finalLsn: message.finalLsn,
          xid: message.xid,
          commitTime: pgTimestampToIso(message.commitTime),
          sequence: 0,
        };
        return;
      case 'relation':
        this.relations.set(message.relationId, relationOf(message));
        return;
      case 'insert':
      case 'update':
      case 'delete':
        this.take((tx) => rowChangeOf(message, this.relations, tx));
        return;
      case 'truncate':
        for (const relationId of message.relationIds) this.take((tx) => truncationOf(relationId, this.relations, tx));
        return;
      case 'commit':
        if (this.tx) this.items.push({ kind: 'position', lsn: message.endLsn });
        this.tx = null;
        return;
      case 'message':
        // Non-transactional: every earlier commit has been sent before it.
        if ((message.flags & 1) === 0 && !this.tx) this.items.push({ kind: 'position', lsn: message.lsn });
        return;
      default:
        return; // origin, type
    }
  }

  private take(build: (tx: TxInfo) => PendingChange): void {
    const tx = this.tx;
    if (!tx) throw new DriverError(DRIVER, 'Unsupported', 'pgoutput: a change outside a transaction');
    tx.sequence++;
    const partial = this.start.partial;
    if (partial && partial.lsn === tx.finalLsn && tx.sequence <= partial.sequence) return;
    this.items.push({ kind: 'change', pending: build({ ...tx }) });
    this.bufferedChanges++;
  }

  /**
   * The standby status update: written = flushed = applied = the last confirmed position.
   * pg-logical-replication's acknowledge(lsn) reports lsn + 1 (it is fed the start of the last
   * record received); a commit's end LSN is already "one past", and reporting one more could skip
   * a transaction whose commit record starts exactly there, hence the - 1.
   */
  private sendStatus(): void {
    if (this.closing || this.error || this.confirmedLsn === 0n) return;
    void this.service.acknowledge(formatLsn(this.confirmedLsn - 1n)).catch(() => undefined);
  }

  private fail(err: unknown): void {
    if (this.closing || this.error) return;
    this.error = isDriverError(err) ? err : toDriverError(err, 'streaming changes');
    this.rejectFailed(this.error);
    this.wake?.();
    for (const resume of this.spaceWaiters.splice(0)) resume();
  }

  private every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms);
    timer.unref();
    this.timers.push(timer);
  }
}
