// The kafka driver's descriptor: name, capabilities and config schema. The implementation and
// kafkajs load only when create() runs.
import type { Capability } from '../capabilities';
import type { Driver } from '../driver';
import { requireClient, type DriverContext, type DriverFactory } from '../registry';
import { kafkaConfigSchema, type KafkaConfig } from './config';

export { kafkaConfigSchema, type KafkaConfig } from './config';

const CAPABILITIES: readonly Capability[] = ['pubsub_basic', 'pubsub_batch', 'stream_basic'];

export const kafkaDriver: DriverFactory<typeof kafkaConfigSchema> = {
  name: 'kafka',
  capabilities: CAPABILITIES,
  configSchema: kafkaConfigSchema,
  async create(config: KafkaConfig, context: DriverContext): Promise<Driver> {
    requireClient('kafka', 'kafkajs', () => require.resolve('kafkajs'));
    const impl = requireClient(
      'kafka',
      'kafkajs',
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      () => require('./kafka-driver') as typeof import('./kafka-driver'),
    );
    return impl.createKafkaDriver(config, context);
  },
};
