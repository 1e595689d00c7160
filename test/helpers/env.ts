// Addresses of the local stack (scripts/stack), overridable with the same PRISM_* variables.
const host = '127.0.0.1';
const port = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);

export const stackEnv = {
  temporalAddress: process.env.PRISM_TEMPORAL_ADDRESS ?? `${host}:${port('PRISM_TEMPORAL_PORT', 7233)}`,
  postgresUrl: process.env.PRISM_POSTGRES_URL ?? `postgres://prism:prism@${host}:${port('PRISM_PG_PORT', 5432)}/prism`,
  redisUrl: process.env.PRISM_REDIS_URL ?? `redis://${host}:${port('PRISM_REDIS_PORT', 6379)}`,
  natsUrl: process.env.PRISM_NATS_URL ?? `nats://${host}:${port('PRISM_NATS_PORT', 4222)}`,
  kafkaBrokers: (process.env.PRISM_KAFKA_BROKERS ?? `${host}:${port('PRISM_KAFKA_PORT', 9092)}`).split(','),
};

const list = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/**
 * The loopback cluster of scripts/cluster, when `eval "$(scripts/cluster env)"` set PRISM_CLUSTER=1:
 * suites that honour it (the conformance harness, test/cluster/) then target Redis Cluster, the
 * three NATS nodes and the three Kafka brokers (PRISM_KAFKA_BROKERS, also in stackEnv).
 */
export const clusterEnv =
  process.env.PRISM_CLUSTER === '1'
    ? {
        redisNodes: list(process.env.PRISM_REDIS_NODES),
        natsServers: list(process.env.PRISM_NATS_SERVERS),
        kafkaBrokers: stackEnv.kafkaBrokers,
      }
    : null;

/** A name unique to this test run, for keys, topics, queues and tables. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
