// The `config:` block of a backend using the nats driver. Only zod here: the factory in index.ts
// validates configs without loading the NATS client packages.
import { z } from 'zod';
import { limitsSchema } from '../limits-schema';

/** A JetStream stream/bucket name fragment: letters, digits, `-` and `_` only. */
const nameFragment = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'may contain only letters, digits, "-" and "_"');

/** A subject prefix: dot-separated tokens without wildcards or whitespace. */
const subjectPrefix = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'must be dot-separated tokens of letters, digits, "-" and "_"');

export const natsConfigSchema = z.strictObject({
  servers: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).default('nats://127.0.0.1:4222'),
  /** Connection name shown in the server's monitoring. */
  name: z.string().min(1).optional(),
  user: z.string().min(1).optional(),
  pass: z.string().optional(),
  token: z.string().min(1).optional(),
  tls: z
    .strictObject({
      /** Paths of PEM files. */
      ca: z.string().min(1).optional(),
      cert: z.string().min(1).optional(),
      key: z.string().min(1).optional(),
    })
    .optional(),
  /** Connect timeout and the timeout of every request (JetStream API calls, acks). */
  timeoutMs: z.number().int().positive().default(5_000),
  /** JetStream storage of the streams, queues and bucket the driver creates. */
  storage: z.enum(['file', 'memory']).default('file'),
  /**
   * JetStream replicas of the streams, queues and KV bucket the driver creates (durable consumers
   * follow their stream): 3 on a three-node cluster, so a node can fail. Existing streams keep theirs.
   */
  replicas: z.number().int().min(1).max(5).default(1),
  /** JetStream KV bucket holding the keyvalue_* capabilities' keys. */
  kvBucket: nameFragment.default('prism'),
  /**
   * Subject prefix of pubsub_basic topics: topic `a.b` is subject `<prefix>.a.b`, or `a.b` without
   * one (the topic's dots stay subject separators; see topicSubject in names.ts).
   */
  pubsubSubjectPrefix: subjectPrefix.optional(),
  /** stream_basic: stream `<streamPrefix>_<encoded name>` on subject `<streamSubjectPrefix>.<encoded name>`. */
  streamPrefix: nameFragment.default('PRISM_STREAM'),
  streamSubjectPrefix: subjectPrefix.default('prism.stream'),
  /**
   * How long a record delivered by readGroup stays reserved for its group without a commit before
   * JetStream may deliver it again. Restarted drivers resume from the committed offset anyway.
   */
  groupAckWaitMs: z
    .number()
    .int()
    .positive()
    .default(60 * 60 * 1000),
  /**
   * queue_basic: work-queue stream `<queuePrefix>_<encoded name>` on subject
   * `<queueSubjectPrefix>.<encoded name>`, dead letters in `<queuePrefix>_<encoded name>_DLQ` on
   * `<queueSubjectPrefix>.<encoded name>.dlq`.
   */
  queuePrefix: nameFragment.default('PRISM_QUEUE'),
  queueSubjectPrefix: subjectPrefix.default('prism.queue'),
  // Encoded keys (up to 3 characters per byte) must fit in a subject under max_control_line (4 KiB);
  // NATS max_payload (1 MiB by default, 64 MiB at most) bounds the whole message.
  limits: limitsSchema({ maxKeyBytes: 1024, maxValueBytes: 64 * 1024 * 1024 }),
});

export type NatsConfig = z.output<typeof natsConfigSchema>;
