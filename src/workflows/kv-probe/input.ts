import { z } from 'zod';

export const kvProbeInput = z
  .object({
    key: z.string().min(1).max(512),
    value: z.string().max(64 * 1024),
  })
  .strict();

export type KvProbeInput = z.input<typeof kvProbeInput>;

export interface KvProbeResult {
  key: string;
  written: string;
  readBack: string | null;
  backend: string;
}
