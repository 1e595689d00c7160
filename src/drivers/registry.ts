// The driver registry: factories by name, each with its declared capabilities and a config
// schema. A factory loads its client library only when create() runs, so a worker pays only for
// the backends its config uses.
import type { z } from 'zod';
import type { Capability } from './capabilities';
import type { Driver } from './driver';
import { DriverError } from './errors';
import type { DriverEventReport } from './events';

export interface DriverContext {
  /** The backend's name in the config (e.g. "redis-main"), for errors and metrics. */
  backend: string;
  /** Receives what the driver does not report through a call's result (see events.ts). */
  report?: DriverEventReport;
}

export interface DriverFactory<S extends z.ZodType = z.ZodType> {
  name: string;
  /** Everything this driver can implement; an instance may offer less (see Driver.capabilities). */
  capabilities: readonly Capability[];
  /** Validates the `config:` block of a backend using this driver. */
  configSchema: S;
  /**
   * What an instance made from this config will offer, when that can be less than `capabilities`
   * (a Redis Cluster has no changefeed): the slot matcher asks it, so a slot needing a missing
   * capability is refused at start-up rather than failing at its first call.
   */
  capabilitiesFor?(config: z.output<S>): readonly Capability[];
  create(config: z.output<S>, context: DriverContext): Promise<Driver>;
}

export class DriverRegistry {
  private readonly factories = new Map<string, DriverFactory>();

  register<S extends z.ZodType>(factory: DriverFactory<S>): this {
    if (this.factories.has(factory.name)) {
      throw new Error(`a driver named "${factory.name}" is already registered`);
    }
    this.factories.set(factory.name, factory as unknown as DriverFactory);
    return this;
  }

  get(name: string): DriverFactory | undefined {
    return this.factories.get(name);
  }

  names(): string[] {
    return [...this.factories.keys()].sort();
  }
}

/**
 * Loads an optional client library, turning "module not found" into an error that names the
 * package to install.
 */
export function requireClient<T>(driver: string, pkg: string, load: () => T): T {
  try {
    return load();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'MODULE_NOT_FOUND' && String((err as Error).message).includes(pkg)) {
      throw new DriverError(
        driver,
        'Unsupported',
        `the ${driver} driver needs the package "${pkg}": run npm install ${pkg}`,
        { cause: err },
      );
    }
    throw err;
  }
}
