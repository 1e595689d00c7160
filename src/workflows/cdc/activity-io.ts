// What the CDC pattern's slot activities take and return (src/activities/cdc: their factories, from
// whose return types the workflow's proxies are typed). Pure types: the workflow and the
// activities both read them.
import type { OutboxLag, OutboxPosition, OutboxRange, SnapshotInfo } from '../../drivers/capabilities';
import type { OutboundMessage } from './events';
import type { PipelineSpec } from './pipeline';

export interface PrepareRequest {
  mode: 'logical' | 'outbox';
  tables: string[];
  slot: string;
  publication: string;
  outboxTable: string;
  /** Overrides the database name events carry. */
  database?: string;
  /** initial: when the slot is created, snapshot the tables' rows consistently with it. */
  snapshot?: 'initial' | 'never';
}

// The snapshot as prepare left it, and outbox positions: the capabilities' own types.
export type { OutboxLag, OutboxPosition, OutboxRange, SnapshotInfo };

export interface PrepareResult {
  database: string;
  /**
   * Only in histories from before batched delivery went through the sink: settings.kafkaDirect
   * was set and the rounds ran as captureAndDeliver (see the workflow's legacy branch).
   */
  directSink?: boolean;
  /** null: no snapshot (not asked for, or the slot already existed without one). */
  snapshot?: SnapshotInfo | null;
}

export interface SnapshotChunkRequest {
  pipeline: string;
  slot: string;
  /** Rows 1..after are delivered. */
  after: number;
  limit: number;
  spec: PipelineSpec;
}

export interface SnapshotChunkResult {
  messages: OutboundMessage[];
  /** The last row this chunk covers (== after when no rows were left). */
  upTo: number;
  rowsRead: number;
  /**
   * Always 0 now. In histories from before batched delivery went through the sink, the chunk was
   * produced by the source activity itself: messages empty, delivered their count.
   */
  delivered: number;
}

export interface CaptureRequest {
  pipeline: string;
  slot: string;
  publication: string;
  limit: number;
  waitMs: number;
  spec: PipelineSpec;
}

export interface CaptureResult {
  messages: OutboundMessage[];
  changesRead: number;
  /** Confirm this once every message is delivered (null: nothing new to confirm). */
  position: string | null;
  lagBytes: number | null;
}

/**
 * One streaming round: the pump reads the slot's replication stream, runs each batch through the
 * pipeline, delivers it through the sink backend's guarded handle, and confirms a position to the
 * source only once the sink accepted everything before it. Batches never leave the worker: the
 * workflow sees counts and the confirmed position.
 */
export interface PumpRequest {
  pipeline: string;
  slot: string;
  publication: string;
  sinkMode: 'pubsub' | 'stream';
  /** Most changes one sink batch carries. */
  batchSize: number;
  spec: PipelineSpec;
  /** Return after this long (or when cancelled: pause, stop, worker shutdown) with the counts. */
  forMs: number;
  /** Return after this many changes. */
  maxChanges: number;
}

export interface PumpResult {
  changesRead: number;
  /** Events the sink accepted (changesRead minus those filtered out). */
  delivered: number;
  /** Sink batches delivered. */
  batches: number;
  /** The last position confirmed to the source (null: none this round). */
  position: string | null;
  lagBytes: number | null;
  /** How old the oldest event of the last delivered batch was when the sink accepted it. */
  lagSeconds: number;
  /** When the sink accepted this round's last batch (absent: none yet, or an older worker). */
  lastBatchAt?: string;
}

/** Heartbeat details of pump: its counts so far (a retry after a crash goes on counting from them). */
export type PumpProgress = PumpResult;

/** Only scheduled by histories from before batched delivery went through the sink. */
export interface CaptureAndDeliverRequest extends CaptureRequest {
  forMs: number;
}

export interface CaptureAndDeliverResult {
  changesRead: number;
  delivered: number;
  batches: number;
  position: string | null;
  lagBytes: number | null;
  lagSeconds: number;
}

export interface PollOutboxRequest {
  pipeline: string;
  table: string;
  limit: number;
  waitMs: number;
  spec: Pick<PipelineSpec, 'topicPrefix' | 'topics'>;
  /**
   * Ranges of batches already polled and not yet marked published (still in flight): rows inside
   * them are not read again. Anything else unpublished is, so a row committed late with an earlier
   * position than the last one polled is still found (a plain "after the last row" cursor would
   * skip it for the rest of the run).
   */
  skip?: OutboxRange[];
}

export interface PollOutboxResult {
  messages: OutboundMessage[];
  /** Row ids, to mark published once delivered. */
  ids: string[];
  /** This batch's first and last row (null when empty): what the next polls skip while it is in flight. */
  range?: OutboxRange | null;
  lagBytes: null;
  /** Unpublished rows after this poll (the polled ones included); absent in older histories. */
  lag?: OutboxLagStatus;
}

/** The outbox's backlog as a poll saw it. */
export interface OutboxLagStatus extends OutboxLag {
  /** Age of the oldest unpublished row when polled, in seconds (0 when there is none). */
  oldestAgeSeconds: number;
}

export interface DeliverRequest {
  pipeline: string;
  mode: 'pubsub' | 'stream';
  messages: OutboundMessage[];
}

export interface DeliverResult {
  delivered: number;
  /** Skipped because an earlier attempt of this activity had delivered them (heartbeat details). */
  resumed: number;
  lagSeconds: number;
}

/** Heartbeat details of deliver: the ids already accepted by the sink. */
export interface DeliverProgress {
  delivered: string[];
}

export const CDC_CONFIG_ERROR = 'CdcConfigError';
