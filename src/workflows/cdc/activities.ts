// The CDC pattern's own slot activities, as the workflow sees them (types only: the
// implementations live in src/activities/cdc and run on each slot's backend task queue).
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
}

export interface PrepareResult {
  database: string;
  /** settings.kafkaDirect is set: captureAndDeliver can do a whole round in one activity. */
  directSink: boolean;
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
}

export interface PollOutboxResult {
  messages: OutboundMessage[];
  /** Row ids, to mark published once delivered. */
  ids: string[];
  lagBytes: null;
}

export interface CdcSourceActivities {
  /** Checks the source and creates what capture needs; a permanent problem fails non-retryably. */
  prepare(request: PrepareRequest): Promise<PrepareResult>;
  capture(request: CaptureRequest): Promise<CaptureResult>;
  pollOutbox(request: PollOutboxRequest): Promise<PollOutboxResult>;
  /**
   * With a direct Kafka sink: read → pipeline → produce → confirm, batch after batch, for up to
   * request.forMs (or until a read comes back empty). No event enters workflow history; the
   * confirmed position is heartbeated.
   */
  captureAndDeliver(request: CaptureAndDeliverRequest): Promise<CaptureAndDeliverResult>;
  markPublished(request: { table: string; ids: string[] }): Promise<number>;
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

export interface CdcSinkActivities {
  /** Publishes every message, in order per (topic, key); resolves once the sink accepted all. */
  deliver(request: DeliverRequest): Promise<DeliverResult>;
}

/** Heartbeat details of deliver: the ids already accepted by the sink. */
export interface DeliverProgress {
  delivered: string[];
}

export const CDC_CONFIG_ERROR = 'CdcConfigError';
