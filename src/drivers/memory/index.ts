// The in-process driver: no server, no client library. The embedded default for demos and tests;
// its data lives and dies with the process and is not shared between workers.
import { z } from 'zod';
import type { Capability } from '../capabilities';
import { limitsSchema } from '../limits-schema';
import type { DriverFactory } from '../registry';

export const memoryConfigSchema = z.strictObject({
  limits: limitsSchema(),
});

export type MemoryConfig = z.output<typeof memoryConfigSchema>;

export const MEMORY_CAPABILITIES = [
  'keyvalue_basic',
  'keyvalue_ttl',
  'keyvalue_scan',
  'keyvalue_batch',
  'keyvalue_cas',
  'pubsub_basic',
  'pubsub_batch',
  'queue_basic',
  'ledger_basic',
] as const satisfies readonly Capability[];

export const memoryDriver: DriverFactory<typeof memoryConfigSchema> = {
  name: 'memory',
  capabilities: MEMORY_CAPABILITIES,
  configSchema: memoryConfigSchema,
  async create(config, context) {
    const { MemoryDriver } = await import('./memory-driver');
    return new MemoryDriver(config, context);
  },
};
