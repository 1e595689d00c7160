// The conformance harness: every capability suite runs once per driver that declares the
// capability, against the real servers of the local stack, or with PRISM_CLUSTER=1 (see
// `scripts/cluster env`) against the loopback cluster's Redis Cluster, NATS and Kafka nodes. A
// driver that declares a capability and fails its suite fails the run; there is no skip.
import { after, before, describe } from 'node:test';
import type { Capability, CapabilityOperations } from '../../src/drivers/capabilities';
import type { Driver, DriverBase } from '../../src/drivers/driver';
import type { DriverFactory } from '../../src/drivers/registry';
import { clusterEnv, stackEnv } from '../helpers/env';
import { kafkaDriver } from '../../src/drivers/kafka';
import { memoryDriver } from '../../src/drivers/memory';
import { natsDriver } from '../../src/drivers/nats';
import { postgresDriver } from '../../src/drivers/postgres';
import { redisDriver } from '../../src/drivers/redis';

export interface DriverUnderTest {
  name: string;
  factory: DriverFactory;
  config: () => Record<string, unknown>;
  /** Largest pub/sub payload the backend carries, where it is below the 512 KiB the suite uses. */
  pubsubMaxPayloadBytes?: number;
}

// Driver descriptors are light: each loads its client library only in create().
export const DRIVERS: DriverUnderTest[] = [
  { name: 'memory', factory: memoryDriver, config: () => ({}) },
  {
    name: 'redis',
    factory: redisDriver,
    config: () => (clusterEnv ? { nodes: clusterEnv.redisNodes } : { url: stackEnv.redisUrl }),
  },
  {
    name: 'postgres',
    factory: postgresDriver,
    config: () => ({ url: stackEnv.postgresUrl }),
    // NOTIFY carries under 8000 bytes, envelope included.
    pubsubMaxPayloadBytes: 5000,
  },
  {
    name: 'nats',
    factory: natsDriver,
    config: () => (clusterEnv ? { servers: clusterEnv.natsServers, replicas: 3 } : { servers: [stackEnv.natsUrl] }),
  },
  {
    name: 'kafka',
    factory: kafkaDriver,
    config: () => ({
      brokers: stackEnv.kafkaBrokers,
      ...(clusterEnv && { topics: { replicationFactor: 3, minInsyncReplicas: 2 } }),
    }),
  },
];

export function driverUnderTest(name: string): DriverUnderTest {
  const entry = DRIVERS.find((d) => d.name === name);
  if (!entry) throw new Error(`no driver under test named ${name}`);
  return entry;
}

export type DriverWith<C extends Capability> = DriverBase & CapabilityOperations[C];

/**
 * Runs `cases` once per driver whose factory declares `capability`. Inside, `driver()` returns a
 * connected instance (created before the cases, closed after them).
 */
export function forEachDriverWith<C extends Capability>(
  capability: C,
  cases: (driver: () => DriverWith<C>, name: string) => void,
): void {
  for (const entry of DRIVERS) {
    const factory = entry.factory;
    if (!factory.capabilities.includes(capability)) continue;
    describe(`${capability} on ${entry.name}`, () => {
      let instance: Driver | undefined;
      before(async () => {
        const config = factory.configSchema.parse(entry.config());
        instance = await factory.create(config, { backend: `conformance-${entry.name}` });
        if (!instance.capabilities.has(capability)) {
          throw new Error(`${entry.name} declares ${capability} but this instance does not offer it`);
        }
      });
      after(async () => {
        await instance?.close();
      });
      cases(() => {
        if (!instance) throw new Error('driver not created');
        return instance as DriverWith<C>;
      }, entry.name);
    });
  }
}
