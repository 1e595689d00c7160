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

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** A Redis Cluster seed: host:port (IPv6 hosts in brackets). */
const clusterNode = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[^\s:[\]]+):\d{1,5}$/, 'must be host:port');

export const redisConfigSchema = z
  .strictObject({
    /** A single server: redis://[user:pass@]host:port[/db]; rediss:// for TLS. Default redis://127.0.0.1:6379. */
    url: z.string().refine(isRedisUrl, 'must be a redis:// or rediss:// URL').optional(),
    /**
     * Redis Cluster: seed nodes (host:port); the driver discovers the others, follows MOVED/ASK
     * redirections and failovers. Keys a script or batch touches together share a slot through hash
     * tags the driver adds to its own keys (context.ts).
     */
    nodes: z.array(clusterNode).min(1).optional(),
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
  })
  .superRefine((config, ctx) => {
    if (config.nodes === undefined) return;
    const issue = (field: string, message: string): void => {
      ctx.addIssue({ code: 'custom', path: [field], message });
    };
    if (config.url !== undefined) issue('url', 'give either url (one server) or nodes (a Redis Cluster), not both');
    if (config.db !== undefined) issue('db', 'a Redis Cluster has only database 0: remove db when nodes is set');
    // The driver's hash tags must be the first braces of every key it writes.
    if (config.keyPrefix !== undefined && /[{}]/.test(config.keyPrefix)) {
      issue('keyPrefix', 'must not contain { or } when nodes is set: the driver places its own hash tags');
    }
  });

export type RedisConfig = z.output<typeof redisConfigSchema>;

export const REDIS_CAPABILITIES = [
  'keyvalue_basic',
  'keyvalue_ttl',
  'keyvalue_scan',
  'keyvalue_batch',
  'keyvalue_cas',
  'keyvalue_hash',
  'pubsub_basic',
  'queue_basic',
  'stream_basic',
  'ledger_basic',
  'changefeed',
] as const satisfies readonly Capability[];

/**
 * What a Redis backend with this config offers. A logged write touches the value's keys and the
 * feed's in one script: on a Redis Cluster they lie on different slots (CROSSSLOT), so a cluster
 * backend does not offer changefeed, and a slot needing it is refused at start-up, naming it.
 */
export function redisCapabilitiesFor(config: Pick<RedisConfig, 'nodes'>): readonly Capability[] {
  return config.nodes === undefined ? REDIS_CAPABILITIES : REDIS_CAPABILITIES.filter((c) => c !== 'changefeed');
}
