// Shared set-up of the CDC end-to-end tests: a worker config with a postgres source and a Kafka
// sink, unique table and pipeline names, and cleanup of slots and publications left behind.
import { Client } from 'pg';
import { stackEnv } from '../../helpers/env';
import { testConfig } from '../../helpers/worker-process';

export function cdcWorkerConfig(
  taskQueue: string,
  options: {
    heartbeatTimeout?: string;
    sinkBackend?: string;
    extraBackends?: Record<string, unknown>;
    /** A private Postgres (source) or Kafka (sink) instead of the shared one. */
    postgresUrl?: string;
    kafkaBrokers?: string[];
    /** patterns.cdc.settings. */
    settings?: Record<string, unknown>;
  } = {},
): Record<string, unknown> {
  const postgresUrl = options.postgresUrl ?? stackEnv.postgresUrl;
  const kafkaBrokers = options.kafkaBrokers ?? stackEnv.kafkaBrokers;
  return testConfig(taskQueue, {
    backends: {
      pg: { driver: 'postgres', config: { url: postgresUrl } },
      kafka: { driver: 'kafka', config: { brokers: kafkaBrokers } },
      ...options.extraBackends,
    },
    patterns: {
      cdc: {
        slots: { source: 'pg', sink: options.sinkBackend ?? 'kafka' },
        activity: {
          start_to_close_timeout: '60s',
          heartbeat_timeout: options.heartbeatTimeout ?? '20s',
          retry: { initial_interval: '200ms', maximum_interval: '2s' },
        },
        ...(options.settings ? { settings: options.settings } : {}),
      },
    },
  });
}

/** Lower-case, digits and underscores: valid as a pipeline name, slot and unquoted identifier. */
export function cdcName(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
}

export async function pgClient(url = stackEnv.postgresUrl): Promise<Client> {
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
}

/** Drops the pipeline's default slot and publication (leftover slots keep WAL forever). */
export async function dropCapture(pg: Client, pipeline: string): Promise<void> {
  await pg
    .query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [
      `prism_cdc_${pipeline}`,
    ])
    .catch(() => undefined);
  await pg.query(`DROP PUBLICATION IF EXISTS prism_cdc_${pipeline}_pub`).catch(() => undefined);
}

export async function slotExists(pg: Client, pipeline: string): Promise<boolean> {
  const r = await pg.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [`prism_cdc_${pipeline}`]);
  return (r.rowCount ?? 0) > 0;
}

/** A free loopback port (for a private stack service). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((res, rej) => {
    const server = createServer();
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => res(port));
    });
  });
}

/** Resolves as `promise` does, or fails after ms naming what it waited for (never hangs a test). */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
