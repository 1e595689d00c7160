#!/usr/bin/env node
// The worker process: `node dist/src/worker.js --config prism.yaml` (or PRISM_CONFIG).
// Exit codes: 0 drained cleanly, 1 errors (bad config included), 2 the shutdown timeout cut work short.
import { ConfigError } from './common/config-errors';
import { loadConfig } from './config/load';
import { createLogger } from './observability/logger';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type { DriverRegistry } from './drivers/registry';
import type { PatternRegistry } from './sdk/pattern';
import { PrismWorker, StartupError } from './runtime/prism-worker';

export interface WorkerMainOptions {
  /** Wins over the config's temporal section (the CLI's --address, --namespace, --task-queue). */
  temporal?: { address?: string; namespace?: string; task_queue?: string };
  /** Patterns to host (default: the built-in ones). Users add theirs here. */
  patterns?: PatternRegistry;
  drivers?: DriverRegistry;
  /** More activity interceptors for every backend worker (see PrismWorkerOptions). */
  activityInterceptors?: ActivityInterceptorsFactory[];
}

/** Runs a worker process until SIGTERM/SIGINT; resolves with the exit code. */
export async function main(argv: string[] = process.argv.slice(2), options: WorkerMainOptions = {}): Promise<number> {
  const logger = createLogger('info', { component: 'worker' });
  const flag = argv.indexOf('--config');
  const file = flag >= 0 ? argv[flag + 1] : process.env.PRISM_CONFIG;
  if (!file) {
    process.stderr.write('usage: prism-worker --config <file.yaml>   (or set PRISM_CONFIG)\n');
    return 1;
  }
  let worker: PrismWorker;
  try {
    const loaded = loadConfig(file);
    const overrides = Object.entries(options.temporal ?? {}).filter(([, value]) => value !== undefined);
    const config = { ...loaded, temporal: { ...loaded.temporal, ...Object.fromEntries(overrides) } };
    worker = await PrismWorker.create({
      config,
      configFile: file,
      patterns: options.patterns,
      drivers: options.drivers,
      activityInterceptors: options.activityInterceptors,
      logger: createLogger(config.logging.level, { component: 'worker' }),
    });
  } catch (err) {
    if (err instanceof ConfigError || err instanceof StartupError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    logger.error('worker failed to start', { error: (err as Error).message });
    return 1;
  }

  let forced = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    logger.info('signal received, shutting down', { signal });
    worker.shutdown();
    // A second deadline for whatever the grace time did not end (hung drivers, stuck polls).
    setTimeout(() => {
      forced = true;
      logger.error('shutdown timed out; exiting', { forceTimeMs: worker.config.worker.shutdown_force_time });
      process.exit(2);
    }, worker.config.worker.shutdown_force_time).unref();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  const code = await worker.run();
  logger.info('worker stopped', { exitCode: forced ? 2 : code });
  return forced ? 2 : code;
}

if (require.main === module) {
  void main().then((code) => process.exit(code));
}
