// The worker's lifecycle: validate config → open backends (driver + guard + metrics, in its
// BackendPool) → match slots → start one Temporal
// worker for workflows and one per backend for its activities → drain on signal.
//
// Why a worker per backend: an activity interceptor runs only after a task slot is taken, so a
// process-local bulkhead cannot stop a hung backend from holding every slot. Each backend's task
// queue has its own slot limit (its bulkhead capacity); work waiting for a slow backend waits
// durably in Temporal, and other backends keep their slots.
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type ActivityInterceptorsFactory,
  type LogEntry,
  type MetricsExporterConfig,
  type WorkerOptions,
} from '@temporalio/worker';
import { Connection, WorkflowClient } from '@temporalio/client';
import { register as defaultRegistry, Registry } from 'prom-client';
import { ConfigError } from '../common/config-errors';
import type { PrismConfig } from '../config/schema';
import type { DriverRegistry } from '../drivers/registry';
import { capabilityActivities } from '../activities/capability-activities';
import { resolveSlotsActivity, slotBindings } from '../activities/resolve-slots';
import { activityLogging } from '../observability/activity-logging';
import { createLogger, type Logger } from '../observability/logger';
import { collectProcessMetrics, TEMPORAL_METRIC_PREFIX } from '../observability/metrics';
import { startTracing, tracingSettings, type Tracing } from '../observability/tracing';
import { WorkerHttpServer, type HealthReport } from '../observability/http-server';
import { builtinPatterns } from '../patterns/builtin';
import { createResilienceInterceptor } from '../resilience/activity-interceptor';
import { resilienceConfigSchema } from '../resilience/config';
import type { ActivityMap, PatternRegistry } from '../sdk/pattern';
import { backendTaskQueue, patternActivityName, RESOLVE_SLOTS_ACTIVITY } from '../sdk/slot';
import { tracedDriver, type BackendHandle } from './backend-handle';
import { temporalTracing } from './temporal-tracing';
import { BackendPool } from './backend-pool';
import { closeBackends, openBackends, StartupError } from './backends';
import type { SlotMatch } from '../sdk/slot-match';
import { matchSlots } from './slot-matcher';
import { buildWorkflowBundle, PAYLOAD_CONVERTER, prebuiltBundle } from './workflow-bundle';
import { zodProblems } from '../common/config-errors';
import { prepareSecurity, scrubError, type PreparedSecurity } from '../config/prepare-security';

export interface PrismWorkerOptions {
  config: PrismConfig;
  configFile?: string;
  patterns?: PatternRegistry;
  drivers?: DriverRegistry;
  logger?: Logger;
  /**
   * More activity interceptors for every backend worker, innermost (after logging and the
   * guard): e.g. a test's fault injection. Production workers need none.
   */
  activityInterceptors?: ActivityInterceptorsFactory[];
}

/** How run() ended: 0 drained cleanly, 1 errors, 2 the grace or force timeout cut work short. */
export type ExitCode = 0 | 1 | 2;

let runtimeInstalled = false;

/** The Temporal SDK's default number of local activities a worker runs at once. */
const DEFAULT_LOCAL_ACTIVITY_SLOTS = 100;

/**
 * The SDK's metrics named as ours (docs/metrics.md): `prism_temporal_` prefix, `_total` on
 * counters, durations in seconds with the unit in the name.
 */
function temporalMetrics(bindAddress: string): MetricsExporterConfig {
  return {
    metricPrefix: TEMPORAL_METRIC_PREFIX,
    prometheus: { bindAddress, countersTotalSuffix: true, unitSuffix: true, useSecondsForDurations: true },
  };
}

function installRuntime(config: PrismConfig, logger: Logger): string | undefined {
  if (runtimeInstalled) return undefined;
  const bindAddress = `${config.worker.http_host}:${config.worker.temporal_metrics_port}`;
  const forward = (entry: LogEntry): void => {
    const level =
      entry.level === 'ERROR' ? 'error' : entry.level === 'WARN' ? 'warn' : entry.level === 'INFO' ? 'info' : 'debug';
    logger[level](entry.message, { source: 'temporal', ...entry.meta });
  };
  try {
    Runtime.install({
      logger: new DefaultLogger('WARN', forward),
      telemetryOptions: config.worker.temporal_metrics_port > 0 ? { metrics: temporalMetrics(bindAddress) } : undefined,
    });
  } catch (err) {
    // Another part of this process (a test, an embedding app) installed the runtime first.
    logger.debug('Temporal runtime already installed', { error: (err as Error).message });
    runtimeInstalled = true;
    return undefined;
  }
  runtimeInstalled = true;
  return config.worker.temporal_metrics_port > 0 ? `http://${bindAddress}/metrics` : undefined;
}

export class PrismWorker {
  private readonly workers: { name: string; worker: Worker }[] = [];
  private http?: WorkerHttpServer;
  /** The backends this worker's slots use, opened in `backends`. */
  private handles = new Map<string, BackendHandle>();
  private connection?: NativeConnection;
  private stopping = false;
  private security: Omit<PreparedSecurity, 'config'> = { payloadCodecs: [], tls: undefined };
  private extraInterceptors: ActivityInterceptorsFactory[] = [];
  private tracing?: Tracing;
  httpPort = 0;

  /**
   * Where this worker's backends are open: clients in the same process pass it (`pool`) to share
   * the worker's guards, and their calls show on its /metrics and /health.
   */
  readonly backends: BackendPool;

  private constructor(
    readonly config: PrismConfig,
    private readonly logger: Logger,
    readonly registry: Registry,
    drivers: DriverRegistry,
  ) {
    this.backends = new BackendPool({ drivers, registry, logger });
  }

  /** Validates, connects and builds everything; nothing polls until run(). */
  static async create(options: PrismWorkerOptions): Promise<PrismWorker> {
    // Secret references resolved, codec keys and TLS files read: before anything parses driver configs.
    const security = prepareSecurity(options.config, options.configFile);
    const { config } = security;
    const logger = options.logger ?? createLogger(config.logging.level, { component: 'worker' });
    const patterns = options.patterns ?? builtinPatterns();
    const driverRegistry = options.drivers ?? (await import('../drivers/builtin')).builtinDrivers();

    const { matches, problems } = matchSlots(config, patterns, driverRegistry);
    for (const [name, backend] of Object.entries(config.backends)) {
      const parsed = resilienceConfigSchema.safeParse({
        circuit_breaker: backend.circuit_breaker,
        bulkhead: backend.bulkhead,
      });
      if (!parsed.success) problems.push(...zodProblems(parsed.error, ['backends', name]));
    }
    if (problems.length > 0) throw new ConfigError(options.configFile ?? '<config>', problems);

    const temporalMetricsUrl = installRuntime(config, logger);
    const tracingOn = tracingSettings(config.telemetry.tracing, 'prism-worker');
    const tracing = tracingOn ? await startTracing(tracingOn) : undefined;
    if (tracing) logger.info('tracing on', { ...tracing.settings });
    collectProcessMetrics();
    const self = new PrismWorker(config, logger, new Registry(), driverRegistry);
    self.security = security;
    self.tracing = tracing;
    self.extraInterceptors = options.activityInterceptors ?? [];
    self.handles = await openBackends(config, matches, self.backends).catch((err: unknown) => {
      throw scrubError(err);
    });
    try {
      self.connection = await NativeConnection.connect({ address: config.temporal.address, tls: security.tls });
      const namespaceProblems = await self.checkNamespace(patterns);
      if (namespaceProblems.length > 0) throw new ConfigError(options.configFile ?? '<config>', namespaceProblems);
      await self.createTemporalWorkers(matches, patterns);
      await self.runStartHooks(patterns);
      self.http = new WorkerHttpServer({
        host: config.worker.http_host,
        port: config.worker.http_port,
        registries: [self.registry, defaultRegistry],
        temporalMetricsUrl,
        health: () => self.health(),
        ready: () => self.ready(),
      });
      self.httpPort = await self.http.start();
    } catch (err) {
      await self.release();
      throw scrubError(err);
    }
    return self;
  }

  /** Runs the patterns' checkNamespace against the namespace as Temporal describes it. */
  private async checkNamespace(patterns: PatternRegistry): Promise<string[]> {
    const checks = Object.entries(this.config.patterns).flatMap(([name, patternConfig]) => {
      const definition = patterns.get(name);
      return definition?.checkNamespace ? [{ name, definition, patternConfig }] : [];
    });
    if (checks.length === 0) return [];
    const namespace = this.config.temporal.namespace;
    const described = await this.connection!.workflowService.describeNamespace({ namespace });
    const ttl = described.config?.workflowExecutionRetentionTtl;
    const workflowRetentionMs =
      ttl?.seconds == null ? null : Number(ttl.seconds) * 1000 + Math.floor((ttl.nanos ?? 0) / 1e6);
    return checks.flatMap(({ name, definition, patternConfig }) => {
      const settings = definition.settingsSchema
        ? definition.settingsSchema.parse(patternConfig.settings)
        : patternConfig.settings;
      return definition.checkNamespace!({ settings, namespace, workflowRetentionMs }).map(
        (problem) => `patterns.${name}.${problem}`,
      );
    });
  }

  /** Each pattern's onWorkerStart, with a Temporal client on the worker's connection. */
  private async runStartHooks(patterns: PatternRegistry): Promise<void> {
    const hooks = Object.entries(this.config.patterns).flatMap(([name, patternConfig]) => {
      const definition = patterns.get(name);
      return definition?.onWorkerStart ? [{ name, definition, patternConfig }] : [];
    });
    if (hooks.length === 0) return;
    const connection = await Connection.connect({ address: this.config.temporal.address, tls: this.security.tls });
    try {
      const client = new WorkflowClient({
        connection,
        namespace: this.config.temporal.namespace,
        dataConverter: { payloadConverterPath: PAYLOAD_CONVERTER, payloadCodecs: this.security.payloadCodecs },
      });
      for (const { name, definition, patternConfig } of hooks) {
        const settings = definition.settingsSchema
          ? definition.settingsSchema.parse(patternConfig.settings)
          : patternConfig.settings;
        try {
          await definition.onWorkerStart!({ settings, client, taskQueue: this.config.temporal.task_queue });
        } catch (err) {
          this.logger.error('pattern start-up hook failed', { pattern: name, error: (err as Error).message });
        }
      }
    } finally {
      await connection.close();
    }
  }

  private async createTemporalWorkers(matches: readonly SlotMatch[], patterns: PatternRegistry): Promise<void> {
    const { config } = this;
    const connection = this.connection!;
    const common = {
      connection,
      namespace: config.temporal.namespace,
      dataConverter: { payloadConverterPath: PAYLOAD_CONVERTER, payloadCodecs: this.security.payloadCodecs },
      shutdownGraceTime: config.worker.shutdown_grace_time,
    };

    const extraWorkflowModules = [
      ...new Set(
        Object.keys(config.patterns)
          .map((name) => patterns.get(name)?.workflowsPath)
          .filter((p): p is string => typeof p === 'string'),
      ),
    ];
    const traced = this.tracing ? await temporalTracing(this.tracing) : undefined;
    const prebuilt = prebuiltBundle(extraWorkflowModules, traced !== undefined);
    const workflowBundle = prebuilt
      ? { codePath: prebuilt }
      : await buildWorkflowBundle(extraWorkflowModules, { traced: traced !== undefined });
    const bindings = slotBindings(config, matches, this.handles);

    // A pattern's own activities of a single slot may also run as local activities on the workflow
    // worker (a short read or write at a workflow's start or end, without an activity task and a
    // workflow task of its own), under the same interceptors as on the backend's worker: the
    // backend's guard (breaker, bulkhead, metrics) and logging.
    const local: ActivityMap = {};
    const localBackend = new Map<string, string>();
    const chains = new Map<string, ActivityInterceptorsFactory[]>();
    const backendWorkers: { backend: string; options: WorkerOptions }[] = [];
    for (const [backend, handle] of this.handles) {
      // Activities get the driver itself: the interceptor below runs each one under the guard.
      const driver = tracedDriver(handle.unguarded, backend);
      const activities: ActivityMap = capabilityActivities(driver);
      for (const match of matches.filter((m) => m.backend === backend)) {
        const definition = patterns.get(match.pattern)!;
        const factory = definition.slotActivities?.[match.slot];
        if (!factory) continue;
        const settings = definition.settingsSchema
          ? definition.settingsSchema.parse(config.patterns[match.pattern].settings)
          : config.patterns[match.pattern].settings;
        const own = factory(driver as never, {
          pattern: match.pattern,
          slot: match.slot,
          ...(match.index === undefined ? {} : { index: match.index }),
          backend,
          settings,
          slots: this.slotHandles(matches, match.pattern),
        });
        for (const [name, fn] of Object.entries(own)) {
          const activityName = patternActivityName(match.pattern, match.slot, name);
          activities[activityName] = fn;
          // A list slot's elements share activity names, so only a single slot's run locally.
          if (match.index === undefined) {
            local[activityName] = fn;
            localBackend.set(activityName, backend);
          }
        }
      }
      const guard = handle.guard;
      // Logging outside the guard, so rejections by the breaker or bulkhead are logged too;
      // the activity's span outermost, so the guard's events and the driver spans are in it.
      const chain = [
        ...(traced ? [traced.activity] : []),
        activityLogging(this.logger, backend),
        createResilienceInterceptor(guard),
        ...this.extraInterceptors,
      ];
      chains.set(backend, chain);
      backendWorkers.push({
        backend,
        options: {
          ...common,
          taskQueue: backendTaskQueue(config.temporal.task_queue, backend),
          activities,
          interceptors: { activity: chain },
          maxConcurrentActivityTaskExecutions: guard.snapshot().capacity,
        },
      });
    }

    const localReserve = [...new Set(localBackend.values())].reduce((n, backend) => {
      const { capacity, queueCapacity } = this.handles.get(backend)!.guard.snapshot();
      return n + capacity + queueCapacity;
    }, 0);
    // Every backend's chain has the same length: position i runs the i-th interceptor of the
    // chain of the activity's backend (none for the workflow worker's own resolveSlots).
    const chainLength = chains.values().next().value?.length ?? 0;
    const localInterceptors = Array.from({ length: chainLength }, (_, i): ActivityInterceptorsFactory => (ctx) => {
      const backend = localBackend.get(ctx.info.activityType);
      return backend === undefined ? {} : chains.get(backend)![i](ctx);
    });
    this.workers.push({
      name: 'workflows',
      worker: await Worker.create({
        ...common,
        taskQueue: config.temporal.task_queue,
        workflowBundle,
        activities: { ...local, [RESOLVE_SLOTS_ACTIVITY]: resolveSlotsActivity(bindings) },
        // A hung backend holds at most its bulkhead (slots and queue) of local activity slots:
        // the SDK's default of 100 stays free for everything else (resolveSlots above all).
        maxConcurrentLocalActivityExecutions: DEFAULT_LOCAL_ACTIVITY_SLOTS + localReserve,
        interceptors: { activity: localInterceptors },
        maxConcurrentWorkflowTaskExecutions: config.worker.max_concurrent_workflow_tasks,
        ...(traced ? { sinks: traced.sinks } : {}),
      }),
    });
    for (const { backend, options } of backendWorkers) {
      this.workers.push({ name: `backend ${backend}`, worker: await Worker.create(options) });
    }
  }

  /** A pattern's slots on this worker as guarded handles (list slots in config order). */
  private slotHandles(
    matches: readonly SlotMatch[],
    pattern: string,
  ): Record<string, BackendHandle | readonly BackendHandle[]> {
    const slots: Record<string, BackendHandle | BackendHandle[]> = {};
    for (const m of matches.filter((x) => x.pattern === pattern)) {
      const handle = this.handles.get(m.backend)!;
      if (m.index === undefined) slots[m.slot] = handle;
      else ((slots[m.slot] ??= []) as BackendHandle[])[m.index] = handle;
    }
    return slots;
  }

  /** Every backend in use in this process's pool: the worker's own and those its clients opened. */
  health(): HealthReport {
    return this.backends.health();
  }

  ready(): boolean {
    return !this.stopping && this.workers.length > 0 && this.workers.every((w) => w.worker.getState() === 'RUNNING');
  }

  /** Polls until shutdown() (or a worker fails); resolves with the exit code to use. */
  async run(): Promise<ExitCode> {
    let failed = false;
    const runs = this.workers.map(({ name, worker }) =>
      worker.run().catch((err: unknown) => {
        failed = true;
        this.logger.error('worker failed', { worker: name, error: (err as Error).message });
        this.shutdown();
      }),
    );
    this.logger.info('worker running', {
      taskQueue: this.config.temporal.task_queue,
      backends: [...this.handles.keys()],
      patterns: Object.keys(this.config.patterns),
      http: `http://${this.config.worker.http_host}:${this.httpPort}`,
    });
    await Promise.all(runs);
    const overran =
      this.shutdownStartedAt !== undefined &&
      Date.now() - this.shutdownStartedAt > this.config.worker.shutdown_grace_time;
    await this.release();
    if (failed) return 1;
    return overran ? 2 : 0;
  }

  private shutdownStartedAt?: number;

  /** Stops polling and lets in-flight activities finish within the grace time. */
  shutdown(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.shutdownStartedAt = Date.now();
    this.logger.info('draining', { graceTimeMs: this.config.worker.shutdown_grace_time });
    for (const { worker } of this.workers) {
      if (worker.getState() === 'RUNNING') worker.shutdown();
    }
  }

  private async release(): Promise<void> {
    await this.http?.stop();
    await this.tracing?.flush().catch((err: unknown) => {
      this.logger.warn('spans not exported', { error: (err as Error).message });
    });
    await closeBackends(this.handles);
    this.handles.clear();
    await this.connection?.close();
    this.connection = undefined;
  }
}

export { StartupError };
