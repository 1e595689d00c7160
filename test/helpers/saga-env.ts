// Shared by the saga tests and benchmark: a worker config binding the saga pattern to the real
// stack (orders → Postgres, events → Kafka, cache → Redis), and readers that check effects in
// the backends themselves.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { Pool } from 'pg';
import { orderKeys } from '../../src/workflows/saga/input';
import type { OrderSagaInput } from '../../src/workflows/saga/input';
import { SAGA_FAULTS_ENV } from '../fixtures/saga-faults/interceptor';
import { stackEnv, uniqueName } from './env';
import { DIST_ROOT, startWorker, testConfig, type WorkerProcess } from './worker-process';

/** The saga tests' own Postgres schema: other suites may drop the shared one. */
export const SAGA_SCHEMA = 'prism_saga';

/** Where the orders slot (ledgers, outcomes) and the events slot are bound. */
export interface SagaBackendChoice {
  orders?: 'pg' | 'redis';
  events?: 'kafka' | 'redis';
  settings?: Record<string, unknown>;
}

export function sagaWorkerConfig(taskQueue: string, choice: SagaBackendChoice = {}): Record<string, unknown> {
  return testConfig(taskQueue, {
    backends: {
      pg: { driver: 'postgres', config: { url: stackEnv.postgresUrl, schema: SAGA_SCHEMA } },
      kafka: { driver: 'kafka', config: { brokers: stackEnv.kafkaBrokers } },
      redis: { driver: 'redis', config: { url: stackEnv.redisUrl } },
    },
    patterns: {
      saga: {
        slots: { orders: choice.orders ?? 'pg', events: choice.events ?? 'kafka', cache: 'redis' },
        activity: { start_to_close_timeout: '30s', retry: { initial_interval: '200ms', maximum_attempts: 3 } },
        ...(choice.settings ? { settings: choice.settings } : {}),
      },
    },
  });
}

/** The test worker with the saga fault interceptor: plans go in `faultsDir` (see writeSagaFaults). */
export const SAGA_FAULTS_MAIN = join(DIST_ROOT, 'test/fixtures/saga-faults/worker-main.js');

export async function startSagaFaultWorker(
  taskQueue: string,
  faultsDir: string,
  choice: SagaBackendChoice = {},
): Promise<WorkerProcess> {
  return startWorker(sagaWorkerConfig(taskQueue, choice), {
    main: SAGA_FAULTS_MAIN,
    env: { [SAGA_FAULTS_ENV]: faultsDir },
  });
}

export function sagaFaultsDir(): string {
  return mkdtempSync(join(tmpdir(), 'prism-saga-faults-'));
}

/** An order with its own ids (so runs never share a ledger), small amounts unless `extra` says otherwise. */
export function orderInput(extra: Partial<OrderSagaInput> = {}, prefix = 'order'): OrderSagaInput {
  const id = uniqueName(prefix);
  return {
    orderId: id,
    sku: `sku-${id}`,
    quantity: 2,
    customer: `cust-${id}`,
    amount: 500,
    topic: `saga-${id}`,
    openingStock: 10,
    openingBalance: 1000,
    // The tests' injected faults fail an action a few times: 3 attempts keep those runs short.
    actionAttempts: 3,
    ...extra,
  };
}

/** The Redis name of a ledger_basic counter (see src/drivers/redis/ledger.ts), for reading it directly. */
export function redisLedgerKey(key: string): Buffer {
  return Buffer.concat([Buffer.from([0xff]), Buffer.from('l'), Buffer.from([0xff]), Buffer.from(`{${key}}`)]);
}

/** Reads the example's effects straight from Postgres, Kafka and Redis (psql/redis-cli's view). */
export class SagaBackends {
  private readonly pool = new Pool({ connectionString: stackEnv.postgresUrl, max: 2 });
  private readonly redis = new Redis(stackEnv.redisUrl);
  private readonly kafka = new Kafka({ brokers: stackEnv.kafkaBrokers, logLevel: logLevel.NOTHING });

  constructor(private readonly orders: 'pg' | 'redis' = 'pg') {}

  /** A ledger counter as its backend stores it, or undefined when it does not exist. */
  async counter(key: string): Promise<number | undefined> {
    if (this.orders === 'redis') {
      const value = await this.redis.get(redisLedgerKey(key));
      return value === null ? undefined : Number(value);
    }
    const r = await this.pool.query<{ count: string }>(`SELECT count::text FROM ${SAGA_SCHEMA}.ledger WHERE key = $1`, [
      key,
    ]);
    return r.rows[0] ? Number(r.rows[0].count) : undefined;
  }

  /** The change ids applied to a Postgres ledger key (and still remembered), sorted. */
  async changes(key: string): Promise<string[]> {
    const r = await this.pool.query<{ change_id: string }>(
      `SELECT change_id FROM ${SAGA_SCHEMA}.ledger_changes WHERE key = $1 AND expires_at > now() ORDER BY change_id`,
      [key],
    );
    return r.rows.map((row) => row.change_id);
  }

  stock(sku: string): Promise<number | undefined> {
    return this.counter(orderKeys.stock(sku));
  }

  balance(customer: string): Promise<number | undefined> {
    return this.counter(orderKeys.account(customer));
  }

  /** A plain key's value as text, or null when absent. */
  async kvText(key: string): Promise<string | null> {
    const r = await this.pool.query<{ value: Buffer }>(`SELECT value FROM ${SAGA_SCHEMA}.kv WHERE key = $1`, [key]);
    return r.rows[0] ? r.rows[0].value.toString('utf8') : null;
  }

  async cached(orderId: string): Promise<string | null> {
    return this.redis.get(orderKeys.order(orderId));
  }

  /** How many messages a topic holds (0 when it does not exist). */
  async eventCount(topic: string): Promise<number> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      if (!(await admin.listTopics()).includes(topic)) return 0;
      const offsets = await admin.fetchTopicOffsets(topic);
      return offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
    } finally {
      await admin.disconnect();
    }
  }

  /** Event types on a topic, in order (empty when the topic does not exist). */
  async events(topic: string): Promise<string[]> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const topics = await admin.listTopics();
      if (!topics.includes(topic)) return [];
      const offsets = await admin.fetchTopicOffsets(topic);
      const total = offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
      if (total === 0) return [];
      const consumer = this.kafka.consumer({ groupId: `saga-test-${topic}-${Date.now()}` });
      await consumer.connect();
      const types: string[] = [];
      try {
        await consumer.subscribe({ topic, fromBeginning: true });
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`read ${types.length} of ${total} events on ${topic}`)),
            20_000,
          );
          void consumer.run({
            eachMessage: async ({ message }) => {
              types.push(message.headers?.['event-type']?.toString() ?? '?');
              if (types.length >= total) {
                clearTimeout(timer);
                resolve();
              }
            },
          });
        });
      } finally {
        await consumer.disconnect();
      }
      return types;
    } finally {
      await admin.disconnect();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
    this.redis.disconnect();
  }
}
