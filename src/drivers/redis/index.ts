// The Redis driver's descriptor: name, capabilities and config schema. Light on purpose: ioredis
// and the implementation load only when create() runs, so a worker that never uses Redis never
// loads them.
import { requireClient, type DriverFactory } from '../registry';
import { REDIS_CAPABILITIES, redisCapabilitiesFor, redisConfigSchema } from './config';

export { REDIS_CAPABILITIES, redisConfigSchema, type RedisConfig } from './config';

type Implementation = typeof import('./redis-driver');

export const redisDriver: DriverFactory<typeof redisConfigSchema> = {
  name: 'redis',
  capabilities: REDIS_CAPABILITIES,
  configSchema: redisConfigSchema,
  capabilitiesFor: redisCapabilitiesFor,
  async create(config, context) {
    const { RedisDriver } = requireClient(
      'redis',
      'ioredis',
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded lazily on purpose
      (): Implementation => require('./redis-driver'),
    );
    return RedisDriver.connect(config, context);
  },
};
