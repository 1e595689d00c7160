// The one place a backend is opened: its driver (from the registry, whose client library loads
// only then), its guard (circuit breaker + bulkhead) and its metrics. The worker opens its
// backends here, and so do the typed clients' fast paths and the CLI.
//
// One guard per backend name per pool: opening a backend that is already open returns a handle
// on the same driver and guard (the driver closes when the last handle is released). The guard
// outlives its driver: a process that opens, uses and closes a backend call after call (the
// CLI, a script) keeps one breaker, so failures add up and the breaker can open; while it is
// open, even opening the backend fails fast. A process's clients share `BackendPool.shared()`
// unless given another pool, e.g. a worker's (`worker.backends`), which puts their calls on
// that worker's /metrics and /health.
import { Registry } from 'prom-client';
import { ConfigError, zodProblems } from '../common/config-errors';
import { backendSchema, type BackendConfig } from '../config/schema';
import { builtinDrivers } from '../drivers/builtin';
import type { Driver } from '../drivers/driver';
import type { DriverFactory, DriverRegistry } from '../drivers/registry';
import type { HealthReport } from '../observability/http-server';
import { createDriverEventMetrics, driverEventReporter, type DriverEventMetrics } from '../observability/driver-events';
import { createLogger, type Logger } from '../observability/logger';
import { createMetrics, type PrismMetrics } from '../observability/metrics';
import { BackendGuard, type GuardSnapshot } from '../resilience/backend-guard';
import { resilienceConfigSchema, type ResilienceConfig } from '../resilience/config';
import { createHandle, guardedOperations, type BackendHandle } from './backend-handle';

/** How a ConfigError from open() names where the config came from. */
const CONFIG_SOURCE = '<backend config>';

export interface BackendPoolOptions {
  /** Where drivers come from (default: the built-in ones). */
  drivers?: DriverRegistry;
  /**
   * The prom-client registry the `driver_operation_*`, `circuit_breaker_*` and `bulkhead_*`
   * series (and those of driver events, e.g. prism_cdc_heartbeat_failures_total) go into (default: a
   * new one, `pool.registry`). One pool per registry.
   */
  registry?: Registry;
  /** Where connects and driver events are logged (default: warnings and errors to stderr). */
  logger?: Logger;
}

interface Connection {
  driver: Driver;
  operations: ReturnType<typeof guardedOperations>;
}

interface Entry {
  /** The backend's config as parsed, serialized: a second open must name the same one. */
  readonly key: string;
  readonly guard: BackendGuard;
  refs: number;
  connection?: Promise<Connection>;
}

interface ParsedBackend {
  key: string;
  config: BackendConfig;
  resilience: ResilienceConfig;
  factory: DriverFactory;
  driverConfig: unknown;
}

export class BackendPool {
  private static sharedPool?: BackendPool;
  readonly registry: Registry;
  readonly metrics: PrismMetrics;
  private readonly eventMetrics: DriverEventMetrics;
  private readonly drivers: DriverRegistry;
  private readonly logger: Logger;
  private readonly entries = new Map<string, Entry>();

  constructor(options: BackendPoolOptions = {}) {
    this.registry = options.registry ?? new Registry();
    this.metrics = createMetrics(this.registry);
    this.eventMetrics = createDriverEventMetrics(this.registry);
    this.drivers = options.drivers ?? builtinDrivers();
    this.logger = options.logger ?? createLogger('warn', { component: 'backends' });
  }

  /** The process's default pool: the one clients use when given none. */
  static shared(): BackendPool {
    return (BackendPool.sharedPool ??= new BackendPool());
  }

  /**
   * A handle on backend `name` (`{ driver, config, circuit_breaker, bulkhead }` as in the
   * worker's YAML, secret references already resolved). Connects the driver unless it is open.
   * Throws ConfigError for a bad config, CircuitOpenError while the backend's breaker is open,
   * or the driver's error when it cannot connect.
   */
  async open(name: string, config: unknown): Promise<BackendHandle> {
    const parsed = this.parse(name, config);
    let entry = this.entries.get(name);
    if (entry && entry.key !== parsed.key) {
      if (entry.refs > 0) {
        throw new ConfigError(CONFIG_SOURCE, [
          `backends.${name}: already open in this process with another config (use another name, or another BackendPool)`,
        ]);
      }
      entry = undefined; // unused: the new config replaces it, breaker and all
    }
    if (!entry) {
      entry = {
        key: parsed.key,
        guard: new BackendGuard({
          backend: name,
          driver: parsed.config.driver,
          config: parsed.resilience,
          metrics: this.metrics,
        }),
        refs: 0,
      };
      this.entries.set(name, entry);
    }
    const opened = entry;
    opened.refs++;
    const connection = (opened.connection ??= this.connect(name, opened, parsed));
    let ready: Connection;
    try {
      ready = await connection;
    } catch (err) {
      opened.refs--;
      if (opened.connection === connection) opened.connection = undefined;
      throw err;
    }
    return createHandle(name, ready.driver, opened.guard, ready.operations, () =>
      this.release(name, opened, connection),
    );
  }

  /** The guard of a backend this pool has opened (it stays after the last handle is released). */
  guard(name: string): BackendGuard | undefined {
    return this.entries.get(name)?.guard;
  }

  /** Backends with at least one open handle. */
  names(): string[] {
    return [...this.entries].filter(([, e]) => e.refs > 0).map(([name]) => name);
  }

  /** DEGRADED while the breaker of any backend in use is not closed. */
  health(): HealthReport {
    const openBreakers = this.names().filter((name) => this.entries.get(name)!.guard.state() !== 'closed');
    return { status: openBreakers.length === 0 ? 'OK' : 'DEGRADED', openBreakers };
  }

  snapshots(): GuardSnapshot[] {
    return this.names().map((name) => this.entries.get(name)!.guard.snapshot());
  }

  /** Closes every driver, whoever holds handles on it (their later close is a no-op). */
  async close(): Promise<void> {
    await Promise.all(
      [...this.entries].map(async ([name, entry]) => {
        const connection = entry.connection;
        entry.refs = 0;
        entry.connection = undefined;
        if (connection) await this.closeDriver(name, connection);
      }),
    );
  }

  private parse(name: string, input: unknown): ParsedBackend {
    const at = ['backends', name];
    const backend = backendSchema.safeParse(input);
    if (!backend.success) throw new ConfigError(CONFIG_SOURCE, zodProblems(backend.error, at));
    const config = backend.data;
    const resilience = resilienceConfigSchema.safeParse({
      circuit_breaker: config.circuit_breaker,
      bulkhead: config.bulkhead,
    });
    if (!resilience.success) throw new ConfigError(CONFIG_SOURCE, zodProblems(resilience.error, at));
    const factory = this.drivers.get(config.driver);
    if (!factory) {
      throw new ConfigError(CONFIG_SOURCE, [
        `backends.${name}.driver: unknown driver "${config.driver}" (known: ${this.drivers.names().join(', ')})`,
      ]);
    }
    const driverConfig = factory.configSchema.safeParse(config.config);
    if (!driverConfig.success) throw new ConfigError(CONFIG_SOURCE, zodProblems(driverConfig.error, [...at, 'config']));
    return {
      key: JSON.stringify(config),
      config,
      resilience: resilience.data,
      factory,
      driverConfig: driverConfig.data,
    };
  }

  /** Connecting is a call to the backend too: it counts for the breaker and is refused while open. */
  private async connect(name: string, entry: Entry, parsed: ParsedBackend): Promise<Connection> {
    const driver = await entry.guard.execute('connect', () =>
      parsed.factory.create(parsed.driverConfig, {
        backend: name,
        report: driverEventReporter(name, this.logger, this.eventMetrics),
      }),
    );
    try {
      const connection = { driver, operations: guardedOperations(driver, entry.guard) };
      this.logger.info('backend connected', { backend: name, driver: parsed.config.driver });
      return connection;
    } catch (err) {
      await driver.close().catch(() => undefined);
      throw err;
    }
  }

  private async release(name: string, entry: Entry, connection: Promise<Connection>): Promise<void> {
    if (entry.connection !== connection) return; // closed by close() meanwhile
    if (--entry.refs > 0) return;
    entry.connection = undefined;
    await this.closeDriver(name, connection);
  }

  private async closeDriver(name: string, connection: Promise<Connection>): Promise<void> {
    try {
      await (await connection).driver.close();
    } catch (err) {
      this.logger.warn('backend did not close cleanly', { backend: name, error: (err as Error).message });
    }
  }
}
