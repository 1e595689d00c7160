// The `config:` block of a backend using the kafka driver. Only zod here: the factory in index.ts
// validates configs without loading kafkajs.
import { z } from 'zod';
import { limitsSchema } from '../limits-schema';

const credentials = { username: z.string().min(1), password: z.string() };

export const kafkaConfigSchema = z.strictObject({
  brokers: z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
    .transform((b) => (typeof b === 'string' ? b.split(',').map((s) => s.trim()) : b))
    .default(['127.0.0.1:9092']),
  clientId: z.string().min(1).default('prism'),
  /** true: TLS with the system CAs; an object: paths of PEM files. */
  ssl: z
    .union([
      z.boolean(),
      z.strictObject({
        ca: z.string().min(1).optional(),
        cert: z.string().min(1).optional(),
        key: z.string().min(1).optional(),
        servername: z.string().min(1).optional(),
        rejectUnauthorized: z.boolean().default(true),
      }),
    ])
    .default(false),
  sasl: z
    .discriminatedUnion('mechanism', [
      z.strictObject({ mechanism: z.literal('plain'), ...credentials }),
      z.strictObject({ mechanism: z.literal('scram-sha-256'), ...credentials }),
      z.strictObject({ mechanism: z.literal('scram-sha-512'), ...credentials }),
    ])
    .optional(),
  connectionTimeoutMs: z.number().int().positive().default(3_000),
  requestTimeoutMs: z.number().int().positive().default(30_000),
  /** Client-side retries of a failed request before the call fails (Unavailable / Timeout). */
  retries: z.number().int().min(1).max(100).default(3),
  /** Topics the driver creates (on first use of a topic or stream name). */
  topics: z
    .strictObject({
      partitions: z.number().int().min(1).default(1),
      /** -1: the broker's default.replication.factor. */
      replicationFactor: z.number().int().min(-1).default(-1),
      /**
       * min.insync.replicas of the topics created (with acks=all, a write needs this many replicas);
       * unset: the broker's default. 2 with replication factor 3 survives one broker down.
       */
      minInsyncReplicas: z.number().int().min(1).optional(),
    })
    .prefault({}),
  /** Kafka topic of pubsub topic `t`: `<pubsubTopicPrefix><encoded t>`. */
  pubsubTopicPrefix: z.string().default(''),
  /** Kafka topic of stream `s`: `<streamTopicPrefix><encoded s>`. */
  streamTopicPrefix: z.string().default(''),
  /** Consumer groups: `<groupPrefix><topic>:<group>` for stream groups. */
  groupPrefix: z.string().default('prism:'),
  /** kafkajs log level; entries go to stderr. */
  logLevel: z.enum(['nothing', 'error', 'warn', 'info', 'debug']).default('error'),
  limits: limitsSchema({ maxValueBytes: 64 * 1024 * 1024 }),
});

export type KafkaConfig = z.output<typeof kafkaConfigSchema>;
