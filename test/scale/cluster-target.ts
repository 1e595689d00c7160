// The loopback cluster of scripts/cluster (docs/cluster.md) as a place for the chaos loads: Redis
// Cluster, three NATS nodes with R3 streams, three Kafka brokers with replication 3. The saga's
// orders and the CDC source stay on the stack's PostgreSQL (the cluster has none for the
// patterns' data), and so do the two session regions: a session shard needs `changefeed`, which a
// Redis Cluster backend does not offer yet (a logged write's keys lie on several slots; see
// src/drivers/redis/redis-driver.ts), so each region is a schema of its own there.
import { Client } from 'pg';
import type { SessionRegion } from '../chaos/config';
import type { LoadTarget } from '../chaos/target';

const HOST = '127.0.0.1';

export interface ClusterAddresses {
  temporalFrontends: string[];
  redisSeeds: string[];
  natsServers: string[];
  kafkaBrokers: string[];
  postgresUrl: string;
}

/** The cluster's default addresses (scripts/cluster, port base 17000); Postgres from PRISM_POSTGRES_URL. */
export function clusterAddresses(base = Number(process.env.PRISM_CLUSTER_PORT_BASE ?? 17000)): ClusterAddresses {
  return {
    temporalFrontends: [`${HOST}:${base + 10}`, `${HOST}:${base + 20}`],
    redisSeeds: [0, 1, 2].map((i) => `${HOST}:${base + 100 + i}`),
    natsServers: [1, 2, 3].map((n) => `nats://${HOST}:${base + 109 + n}`),
    kafkaBrokers: [1, 2, 3].map((n) => `${HOST}:${base + 119 + n}`),
    postgresUrl: process.env.PRISM_POSTGRES_URL ?? 'postgres://prism:prism@127.0.0.1:5432/prism',
  };
}

/** Schema of each session region's backend. */
const REGION_SCHEMA: Record<SessionRegion, string> = { eu: 'prism_scale_eu', us: 'prism_scale_us' };
export const SCALE_SAGA_SCHEMA = 'prism_scale_saga';
export const NATS_SUBJECT_PREFIX = 'scale.pubsub';
const KV_BUCKET = 'prism_scale';

export function clusterTarget(a: ClusterAddresses): LoadTarget {
  // Breakers open after a few transient failures and probe again soon: a failover fails fast.
  const breaker = { max_failures: 5, reset_timeout: '2s' };
  const region = (r: SessionRegion): Record<string, unknown> => ({
    driver: 'postgres',
    config: { url: a.postgresUrl, schema: REGION_SCHEMA[r] },
    circuit_breaker: breaker,
  });
  return {
    backends: () => ({
      redis: { driver: 'redis', config: { nodes: a.redisSeeds }, circuit_breaker: breaker },
      'session-eu': region('eu'),
      'session-us': region('us'),
      nats: {
        driver: 'nats',
        config: {
          servers: a.natsServers,
          replicas: 3,
          kvBucket: KV_BUCKET,
          pubsubSubjectPrefix: NATS_SUBJECT_PREFIX,
        },
        circuit_breaker: breaker,
      },
      pg: { driver: 'postgres', config: { url: a.postgresUrl, schema: SCALE_SAGA_SCHEMA }, circuit_breaker: breaker },
      kafka: {
        driver: 'kafka',
        config: { brokers: a.kafkaBrokers, topics: { replicationFactor: 3, minInsyncReplicas: 2 } },
        circuit_breaker: breaker,
      },
    }),
    postgresUrl: a.postgresUrl,
    sagaSchema: SCALE_SAGA_SCHEMA,
    natsServers: a.natsServers,
    natsSubjectPrefix: NATS_SUBJECT_PREFIX,
    kafkaBrokers: a.kafkaBrokers,
    sessionReader(region) {
      // The postgres driver's key-value table (src/drivers/postgres/schema.ts), read directly.
      const pg = new Client({ connectionString: a.postgresUrl });
      const connected = pg.connect();
      return {
        get: async (sessionId) => {
          await connected;
          const r = await pg.query<{ value: Buffer }>(
            `SELECT value FROM ${REGION_SCHEMA[region]}.kv WHERE key = $1 AND (expires_at IS NULL OR expires_at > now())`,
            [`sess:${sessionId}`],
          );
          return r.rows[0]?.value.toString('utf8') ?? null;
        },
        close: () => void pg.end().catch(() => undefined),
      };
    },
  };
}
