// The in-process driver: no server, no client library. The embedded default for demos and tests;
// its data lives and dies with the process and is not shared between workers.
import type { DriverFactory } from '../registry';
import { MEMORY_CAPABILITIES, memoryConfigSchema } from './config';

export { MEMORY_CAPABILITIES, memoryConfigSchema, type MemoryConfig } from './config';

export const memoryDriver: DriverFactory<typeof memoryConfigSchema> = {
  name: 'memory',
  capabilities: MEMORY_CAPABILITIES,
  configSchema: memoryConfigSchema,
  async create(config, context) {
    const { MemoryDriver } = await import('./memory-driver');
    return new MemoryDriver(config, context);
  },
};
