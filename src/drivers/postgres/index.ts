// The postgres driver's descriptor: name, capabilities and config schema. The implementation
// (and the pg client library) loads only when create() runs.
import type { Driver } from '../driver';
import { requireClient, type DriverContext, type DriverFactory } from '../registry';
import { POSTGRES_CAPABILITIES, postgresConfigSchema, type PostgresConfig } from './config';

export { POSTGRES_CAPABILITIES, postgresConfigSchema, type PostgresConfig } from './config';

export const postgresDriver: DriverFactory<typeof postgresConfigSchema> = {
  name: 'postgres',
  capabilities: POSTGRES_CAPABILITIES,
  configSchema: postgresConfigSchema,
  async create(config: PostgresConfig, context: DriverContext): Promise<Driver> {
    const impl = requireClient(
      'postgres',
      'pg',
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      () => require('./postgres-driver') as typeof import('./postgres-driver'),
    );
    return impl.createPostgresDriver(config, context);
  },
};
