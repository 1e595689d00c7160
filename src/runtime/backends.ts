// Creates the drivers a config uses (only those: each driver loads its client library on
// create) and checks that every instance offers what its slots need.
import type { PrismConfig } from '../config/schema';
import type { Driver } from '../drivers/driver';
import type { DriverRegistry } from '../drivers/registry';
import { driverEventReporter, type DriverEventMetrics } from '../observability/driver-events';
import type { Logger } from '../observability/logger';
import { checkInstanceCapabilities, type SlotMatch } from './slot-matcher';

export class StartupError extends Error {
  constructor(readonly problems: string[]) {
    super(`cannot start:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'StartupError';
  }
}

export async function createBackends(
  config: PrismConfig,
  matches: readonly SlotMatch[],
  registry: DriverRegistry,
  logger: Logger,
  /** Where the events drivers report are counted (they are logged too). */
  eventMetrics: DriverEventMetrics,
): Promise<Map<string, Driver>> {
  const used = [...new Set(matches.map((m) => m.backend))];
  const drivers = new Map<string, Driver>();
  const problems: string[] = [];
  await Promise.all(
    used.map(async (backend) => {
      const backendConfig = config.backends[backend];
      const factory = registry.get(backendConfig.driver);
      if (!factory) throw new Error(`driver ${backendConfig.driver} vanished from the registry`);
      try {
        const driver = await factory.create(factory.configSchema.parse(backendConfig.config), {
          backend,
          report: driverEventReporter(backend, logger, eventMetrics),
        });
        drivers.set(backend, driver);
        logger.info('backend connected', { backend, driver: backendConfig.driver });
      } catch (err) {
        problems.push(
          `backends.${backend}: cannot create the ${backendConfig.driver} driver: ${(err as Error).message}`,
        );
      }
    }),
  );
  for (const match of matches) {
    const driver = drivers.get(match.backend);
    if (!driver) continue;
    const problem = checkInstanceCapabilities(match, driver.capabilities);
    if (problem) problems.push(problem);
  }
  if (problems.length > 0) {
    await closeBackends(drivers, logger);
    throw new StartupError(problems);
  }
  return drivers;
}

export async function closeBackends(drivers: ReadonlyMap<string, Driver>, logger: Logger): Promise<void> {
  await Promise.all(
    [...drivers].map(async ([backend, driver]) => {
      try {
        await driver.close();
      } catch (err) {
        logger.warn('backend did not close cleanly', { backend, error: (err as Error).message });
      }
    }),
  );
}
