// The redis driver's config schema and declared capabilities: zod only, so validating a config
// loads no client library.
import { z } from 'zod';
import type { Capability } from '../capabilities';
import { limitsSchema } from '../limits-schema';

const isRedisUrl = (value: string): boolean => {
  try {
    const { protocol } = new URL(value);
    return protocol === 'redis:' || protocol === 'rediss:';
  } catch {
    return false;
  }
};

export const redisConfigSchema = z.strictObject({
  /** redis://[user:pass@]host:port[/db]; rediss:// for TLS. */
  url: z.string().refine(isRedisUrl, 'must be a redis:// or rediss:// URL').default('redis://127.0.0.1:6379'),
  /** Overrides the database number of the URL. */
  db: z.number().int().min(0).optional(),
  /** Prepended to every key, channel and internal structure of this backend. */
  keyPrefix: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  connectTimeoutMs: z.number().int().positive().default(5_000),
  /** A command without a reply within this time fails with a retryable Timeout. */
  commandTimeoutMs: z.number().int().positive().default(5_000),
  /** Enables TLS; file paths are read when the driver is created. */
  tls: z
    .strictObject({
      ca: z.string().min(1).optional(),
      cert: z.string().min(1).optional(),
      key: z.string().min(1).optional(),
      servername: z.string().min(1).optional(),
      rejectUnauthorized: z.boolean().optional(),
    })
    .optional(),
  // Redis strings hold at most 512 MiB.
  limits: limitsSchema({ maxValueBytes: 512 * 1024 * 1024 }),
});

export type RedisConfig = z.output<typeof redisConfigSchema>;

export const REDIS_CAPABILITIES = [
  'keyvalue_basic',
  'keyvalue_ttl',
  'keyvalue_scan',
  'keyvalue_batch',
  'keyvalue_cas',
  'pubsub_basic',
  'queue_basic',
  'stream_basic',
  'ledger_basic',
  'changefeed',
] as const satisfies readonly Capability[];
