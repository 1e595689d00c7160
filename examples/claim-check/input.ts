// Step 3: the workflow input, validated in the workflow (a bad field fails it, naming the field).
import { z } from 'zod';

export const produceInput = z.strictObject({
  topic: z.string().min(1),
  /** Message bodies as base64 (Uint8Array works too through the payload converter; JSON is simpler). */
  messages: z
    .array(z.strictObject({ id: z.string().min(1).max(200), body: z.string() }))
    .min(1)
    .max(1000),
  thresholdBytes: z.number().int().min(0).default(1024),
  keyPrefix: z.string().default('claim-check/'),
});

export type ProduceInput = z.input<typeof produceInput>;

export interface ProduceResult {
  inline: number;
  checkedIn: number;
  /** Messages whose batch failed, with the reason. */
  failed: { ids: string[]; message: string }[];
}
