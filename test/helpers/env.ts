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

/** A name unique to this test run, for keys, topics, queues and tables. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
