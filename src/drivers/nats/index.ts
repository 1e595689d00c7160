// The nats driver's descriptor: name, capabilities and config schema. The implementation and the
// NATS client packages (@nats-io/transport-node, @nats-io/jetstream, @nats-io/kv: the v3 modular
// client, which ships CommonJS builds) load only when create() runs.
import type { Capability } from '../capabilities';
import type { Driver } from '../driver';
import { requireClient, type DriverContext, type DriverFactory } from '../registry';
import { natsConfigSchema, type NatsConfig } from './config';

export { natsConfigSchema, type NatsConfig } from './config';

/**
 * What the driver can implement. An instance offers the JetStream ones only when the server runs
 * JetStream. keyvalue_ttl is not offered: it needs per-message TTLs (server 2.11+), not implemented.
 */
const CAPABILITIES: readonly Capability[] = [
  'pubsub_basic',
  'pubsub_batch',
  'queue_basic',
  'stream_basic',
  'keyvalue_basic',
  'keyvalue_scan',
];

const PACKAGES = ['@nats-io/transport-node', '@nats-io/jetstream', '@nats-io/kv'] as const;

export const natsDriver: DriverFactory<typeof natsConfigSchema> = {
  name: 'nats',
  capabilities: CAPABILITIES,
  configSchema: natsConfigSchema,
  async create(config: NatsConfig, context: DriverContext): Promise<Driver> {
    // Name the missing package, whichever of the three it is.
    for (const pkg of PACKAGES) requireClient('nats', pkg, () => require.resolve(pkg));
    const impl = requireClient(
      'nats',
      '@nats-io/transport-node',
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      () => require('./nats-driver') as typeof import('./nats-driver'),
    );
    return impl.createNatsDriver(config, context);
  },
};
