// Inputs and results of the multicast registry's operations and multicast workflow. Pure: the
// client validates with these before starting anything, the workflow again before any work.
import { z } from 'zod';
import { DEFAULT_FILTER_LIMITS, filterProblem, type Json, type Metadata } from './filter';

/** A registry is a namespace of identities; keys and default topics are derived from it. */
export const registryName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/,
    'expected 1-64 letters, digits, "-" or "_" (not starting with "-" or "_")',
  );

/** Identities become topic names (NATS subjects, Kafka topics): a conservative charset. */
export const identityName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
    'expected 1-128 letters, digits, ".", "-" or "_", starting with a letter or digit',
  );

export const MAX_METADATA_BYTES = 16 * 1024;

const jsonValue: z.ZodType<Json> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(jsonValue), z.record(z.string(), jsonValue)]),
);

export const metadataSchema = z
  .record(z.string(), jsonValue)
  .refine((m) => JSON.stringify(m).length <= MAX_METADATA_BYTES, `metadata is larger than ${MAX_METADATA_BYTES} bytes`);

/** A filter is checked by the filter module itself, so the message points into it. */
export const filterSchema = z.record(z.string(), z.unknown()).superRefine((filter, ctx) => {
  const problem = filterProblem(filter, DEFAULT_FILTER_LIMITS);
  if (problem) ctx.addIssue({ code: 'custom', message: problem.message });
});

export const registerInput = z
  .object({
    registry: registryName,
    identity: identityName,
    metadata: metadataSchema.default({}),
    /** Lease length; without it the identity stays until unregistered. */
    ttlSeconds: z
      .number()
      .int()
      .min(1)
      .max(365 * 24 * 3600)
      .optional(),
    /** Overwrite a live registration instead of failing with IdentityConflict. */
    replace: z.boolean().default(false),
  })
  .strict();

export const heartbeatInput = z
  .object({ registry: registryName, identity: identityName, ttlSeconds: z.number().int().min(1).optional() })
  .strict();

export const unregisterInput = z.object({ registry: registryName, identity: identityName }).strict();

export const MAX_ENUMERATE_LIMIT = 1000;

export const enumerateInput = z
  .object({
    registry: registryName,
    filter: filterSchema.default({}),
    limit: z.number().int().min(1).max(MAX_ENUMERATE_LIMIT).default(100),
    cursor: z
      .string()
      .max(64 * 1024)
      .nullable()
      .default(null),
  })
  .strict();

/** A page of a paged multicast's delivered targets (its report rows in the registry). */
export const deliveredInput = z
  .object({
    registry: registryName,
    /** The multicast report's `reportId`. */
    reportId: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'expected the reportId of a multicast report'),
    /** Report rows per call: each is one page of the multicast (up to pageSize targets). */
    rows: z.number().int().min(1).max(100).default(10),
    cursor: z
      .string()
      .max(64 * 1024)
      .nullable()
      .default(null),
  })
  .strict();

export type DeliveredInput = z.input<typeof deliveredInput>;

export type RegisterInput = z.input<typeof registerInput>;
export type HeartbeatInput = z.input<typeof heartbeatInput>;
export type UnregisterInput = z.input<typeof unregisterInput>;
export type EnumerateInput = z.input<typeof enumerateInput>;

export interface Registration {
  identity: string;
  metadata: Metadata;
  /** ISO timestamps; expiresAt is null for an identity without a lease. */
  registeredAt: string;
  expiresAt: string | null;
}

export interface EnumeratePage {
  identities: Registration[];
  /** Pass back for the next page; null when the enumeration is complete. */
  cursor: string | null;
}

/** Queue of an identity: `<queuePrefix><identity>`; the default matches the default topic prefix. */
export const queuePrefixSchema = z
  .string()
  .regex(/^[A-Za-z0-9._-]{0,100}$/, 'expected at most 100 letters, digits, ".", "-" or "_"');

export const MAX_RECEIVE = 1000;

/** A consumer reading its own queue (the durability channel). */
export const receiveInput = z
  .object({
    registry: registryName,
    identity: identityName,
    queuePrefix: queuePrefixSchema.optional(),
    /** Messages at most in one call. */
    max: z.number().int().min(1).max(MAX_RECEIVE).default(10),
    /** A received message not acked within this time is handed out again. */
    visibilityTimeoutMs: z
      .number()
      .int()
      .min(1)
      .max(12 * 3600 * 1000)
      .default(30_000),
    /** Wait up to this long for a message when the queue is empty (0: return at once). */
    waitMs: z.number().int().min(0).max(60_000).default(0),
  })
  .strict();

export const ackInput = z
  .object({
    registry: registryName,
    identity: identityName,
    queuePrefix: queuePrefixSchema.optional(),
    receipt: z.string().min(1).max(4096),
  })
  .strict();

export type ReceiveInput = z.input<typeof receiveInput>;
export type AckInput = z.input<typeof ackInput>;

/** A multicast delivered through an identity's queue, as its consumer reads it. */
export interface QueuedDelivery {
  messageId: string;
  /** The multicast's payload, as text. */
  payload: string;
  contentType: string;
  /** The workflow id of the multicast that queued it (null for messages queued by others). */
  multicastId: string | null;
  /** How many times it was handed out, this time included (above 1: a previous reader did not ack). */
  deliveryCount: number;
  /** Pass to ack() before the visibility timeout runs out. */
  receipt: string;
}

/** A registry operation run as a short workflow (the client's path when it has no direct driver). */
export const registryOperationInput = z.discriminatedUnion('op', [
  registerInput.extend({ op: z.literal('register') }),
  heartbeatInput.extend({ op: z.literal('heartbeat') }),
  unregisterInput.extend({ op: z.literal('unregister') }),
  enumerateInput.extend({ op: z.literal('enumerate') }),
  receiveInput.extend({ op: z.literal('receive') }),
  ackInput.extend({ op: z.literal('ack') }),
  deliveredInput.extend({ op: z.literal('delivered') }),
]);

export type RegistryOperationInput = z.input<typeof registryOperationInput>;
export type RegistryOperationResult =
  Registration | { removed: boolean } | EnumeratePage | QueuedDelivery[] | { acked: true } | DeliveredPage;

/** A page of a paged multicast's delivered targets; pass `cursor` back for the next (null: none left). */
export interface DeliveredPage {
  targets: TargetReport[];
  cursor: string | null;
}

export const DELIVERY_MODES = ['at-most-once', 'at-least-once'] as const;
export type DeliveryMode = (typeof DELIVERY_MODES)[number];

/**
 * Where a multicast delivers: `pubsub` publishes to each identity's topic (received by whoever is
 * subscribed now), `queue` enqueues on each identity's queue in the durability slot (kept until
 * its consumer reads and acks it), `both` does both and counts a target only when both took it.
 */
export const CHANNELS = ['pubsub', 'queue', 'both'] as const;
export type Channel = (typeof CHANNELS)[number];

/** A page's targets go out in one pubsub batch: at most a batch's size (the drivers' MAX_BATCH_KEYS). */
export const MAX_PAGE_TARGETS = 10_000;

export const multicastInput = z
  .object({
    registry: registryName,
    filter: filterSchema.default({}),
    /** The message, as text. */
    payload: z.string().max(512 * 1024),
    contentType: z.string().min(1).max(200).default('text/plain'),
    delivery: z.enum(DELIVERY_MODES).default('at-least-once'),
    /** Batches in flight at once. */
    concurrency: z.number().int().min(1).max(64).default(4),
    /** Identities per publish activity. */
    batchSize: z.number().int().min(1).max(1000).default(100),
    /**
     * Matching targets per page: one activity scans, filters and sends each page (default 10,000;
     * 5,000 in multicasts started before claim marks moved into one map; multicasts started before
     * pages were sent whole enumerated 1,000 per page).
     */
    pageSize: z.number().int().min(1).max(MAX_PAGE_TARGETS).optional(),
    /** Topic of an identity: `<topicPrefix><identity>`; default `multicast.<registry>.`. */
    topicPrefix: z
      .string()
      .regex(/^[A-Za-z0-9._-]{0,100}$/)
      .optional(),
    /** `queue` and `both` need the optional durability slot to be bound. */
    channel: z.enum(CHANNELS).default('pubsub'),
    /** Queue of an identity: `<queuePrefix><identity>`; default `multicast.<registry>.`. */
    queuePrefix: queuePrefixSchema.optional(),
    /** Per-target retries of transient publish failures (at-least-once only). */
    retry: z
      .object({
        maxAttempts: z.number().int().min(1).max(100).default(5),
        initialIntervalMs: z.number().int().min(0).default(1000),
        backoffCoefficient: z.number().min(1).max(10).default(2),
        maxIntervalMs: z.number().int().min(0).default(30_000),
      })
      .strict()
      .prefault({}),
    /** Continue-as-new after this many enumeration pages (default: when Temporal suggests it). */
    pagesPerRun: z.number().int().min(1).optional(),
  })
  .strict();

export type MulticastInput = z.input<typeof multicastInput>;
export type MulticastOptions = z.output<typeof multicastInput>;

export function defaultTopicPrefix(registry: string): string {
  return `multicast.${registry}.`;
}

export function defaultQueuePrefix(registry: string): string {
  return `multicast.${registry}.`;
}

export type TargetStatus = 'delivered' | 'failed';

export interface TargetReport {
  identity: string;
  status: TargetStatus;
  /** Send attempts for this target, activity retries included (the most of any channel with `both`). */
  attempts: number;
  error?: string;
}

export interface MulticastReport {
  targetCount: number;
  delivered: number;
  failed: number;
  /** Matching targets enumerated but not yet delivered or failed. */
  pending: number;
  /** True once every page is enumerated and every target accounted for. */
  done: boolean;
  delivery: DeliveryMode;
  channel: Channel;
  /**
   * Every failed target (up to STATUS_LIST_LIMIT), and delivered ones while the list stays within
   * that many entries. A paged multicast (one with `reportId`) lists its delivered targets in the
   * registry instead: read them with the client's deliveredTargets() or `prism multicast report`.
   */
  statuses: TargetReport[];
  /** True when delivered targets were left out of `statuses`. */
  statusesTruncated: boolean;
  /** Where the delivered targets are listed in the registry backend (paged multicasts). */
  reportId?: string;
}

/** A multicast's counts only (the `multicastProgress` query): small enough to poll every second. */
export type MulticastProgress = Pick<MulticastReport, 'targetCount' | 'delivered' | 'failed' | 'pending' | 'done'>;

export const STATUS_LIST_LIMIT = 10_000;
