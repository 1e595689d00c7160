// The memory driver's config schema and declared capabilities.
import { z } from 'zod';
import type { Capability } from '../capabilities';
import { limitsSchema } from '../limits-schema';

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
  'keyvalue_hash',
  'pubsub_basic',
  'pubsub_batch',
  'queue_basic',
  'ledger_basic',
  'changefeed',
] as const satisfies readonly Capability[];
