// Everything the chaos run says about the product's configuration, in one place: the worker's
// config (all four patterns on the chaos stack), the names the loads use, and where the checks
// find each pattern's effects in the raw backends. When a pattern's settings or storage change,
// this is the file to adapt.
import Redis from 'ioredis';
import type { BackendHandle } from '../../src/runtime/backend-handle';
import { BackendPool } from '../../src/runtime/backend-pool';
import type { ChaosStack } from './stack';
import type { LoadTarget } from './target';

export const TASK_QUEUE = 'chaos';
/** NATS subject prefix of the multicast's messaging backend (the raw subscriber listens under it). */
export const NATS_SUBJECT_PREFIX = 'chaos.pubsub';
/** Redis databases of the two session regions (the registry and the saga cache use db 0). */
export const SESSION_REGIONS = { eu: 1, us: 2 } as const;
export type SessionRegion = keyof typeof SESSION_REGIONS;
/** Schema of the saga's orders slot (its ledgers live in <schema>.ledger). */
export const SAGA_SCHEMA = 'prism_chaos_saga';

/** Retries that outlast a 30 s outage: unlimited attempts, backing off to 5 s. */
const PATIENT_RETRY = {
  initial_interval: '200ms',
  backoff_coefficient: 2,
  maximum_interval: '5s',
  maximum_attempts: 0,
};

export function backends(stack: ChaosStack): Record<string, Record<string, unknown>> {
  // Breakers open after a few transient failures and probe again soon: an outage fails fast.
  const breaker = { max_failures: 5, reset_timeout: '2s' };
  return {
    redis: { driver: 'redis', config: { url: stack.redisUrl(0) }, circuit_breaker: breaker },
    'session-eu': { driver: 'redis', config: { url: stack.redisUrl(SESSION_REGIONS.eu) }, circuit_breaker: breaker },
    'session-us': { driver: 'redis', config: { url: stack.redisUrl(SESSION_REGIONS.us) }, circuit_breaker: breaker },
    nats: {
      driver: 'nats',
      config: { servers: stack.natsUrl, pubsubSubjectPrefix: NATS_SUBJECT_PREFIX },
      circuit_breaker: breaker,
    },
    pg: { driver: 'postgres', config: { url: stack.postgresUrl, schema: SAGA_SCHEMA }, circuit_breaker: breaker },
    kafka: { driver: 'kafka', config: { brokers: stack.kafkaBrokers }, circuit_breaker: breaker },
  };
}

/** The chaos stack as a place for the loads to run. */
export function chaosTarget(stack: ChaosStack): LoadTarget {
  return {
    backends: () => backends(stack),
    postgresUrl: stack.postgresUrl,
    sagaSchema: SAGA_SCHEMA,
    natsServers: [stack.natsUrl],
    natsSubjectPrefix: NATS_SUBJECT_PREFIX,
    kafkaBrokers: stack.kafkaBrokers,
    sessionReader(region) {
      const redis = new Redis(stack.redisUrl(SESSION_REGIONS[region]), { lazyConnect: true });
      return { get: (sessionId) => redis.get(`sess:${sessionId}`), close: () => redis.disconnect() };
    },
  };
}

/** The worker's config: every pattern the loads use, bound to the chaos stack. */
export function workerConfig(stack: ChaosStack): Record<string, unknown> {
  return {
    temporal: { address: stack.temporalAddress, task_queue: TASK_QUEUE, ui_url: stack.temporalUi },
    worker: {
      http_port: stack.ports.workerHttp,
      temporal_metrics_port: stack.ports.workerMetrics,
      shutdown_grace_time: '5s',
    },
    backends: backends(stack),
    patterns: patternsConfig(),
    // info: the worker's start-up line names its HTTP address, which the harness waits for.
    logging: { level: 'info' },
  };
}

/** The four patterns as the loads use them, over the backend names of `backends`. */
export function patternsConfig(): Record<string, unknown> {
  return {
    'multicast-registry': {
      slots: { registry: 'redis', messaging: 'nats' },
      activity: { start_to_close_timeout: '60s', heartbeat_timeout: '10s', retry: PATIENT_RETRY },
    },
    'session-store': {
      slots: { shards: ['session-eu', 'session-us'] },
      activity: { start_to_close_timeout: '10s', retry: PATIENT_RETRY },
      settings: { regions: { eu: ['session-eu'], us: ['session-us'] } },
    },
    saga: {
      slots: { orders: 'pg', events: 'kafka', cache: 'redis' },
      activity: { start_to_close_timeout: '30s', retry: PATIENT_RETRY },
    },
    cdc: {
      slots: { source: 'pg', sink: 'kafka' },
      // The outbox, slot lag and snapshot go through the pg backend's driver: no settings needed.
      activity: { start_to_close_timeout: '60s', heartbeat_timeout: '20s', retry: PATIENT_RETRY },
    },
  };
}

/** Where the order saga keeps a SKU's stock and a customer's balance (see orderKeys). */
export const sagaLedgerKeys = {
  stock: (sku: string): string => `saga:stock:${sku}`,
  account: (customer: string): string => `saga:account:${customer}`,
};

/**
 * The SQL that reads the counts of ledgers, by key, from the orders slot's Postgres: ledger_basic's
 * counter table (src/drivers/postgres/ledger.ts), read directly rather than through the driver.
 */
export const sagaLedgerSql = (schema: string): string => `SELECT key, count FROM ${schema}.ledger WHERE key = ANY($1)`;

/**
 * A handle on one of the worker's backends in the client process (driver + breaker + bulkhead),
 * as a service that calls the registry directly would open it (the multicast client's `direct`
 * path). Its bulkhead lets the loads' 200 concurrent calls run rather than refusing some.
 */
export async function openBackend(target: LoadTarget, name: string): Promise<BackendHandle> {
  const backend = target.backends()[name];
  if (!backend) throw new Error(`no backend "${name}" in the chaos config`);
  return BackendPool.shared().open(name, { ...backend, bulkhead: { capacity: 256 } });
}
