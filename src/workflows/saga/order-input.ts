// Input of the order example saga. testFaults is for tests only: it makes the example's own
// activities fail or pause at a chosen step.
import { z } from 'zod';

export const ORDER_STEPS = ['reserve', 'charge', 'publish', 'cache'] as const;
export type OrderStep = (typeof ORDER_STEPS)[number];

const name = z.string().min(1).max(200);
const step = z.enum(ORDER_STEPS);
const count = z.number().int().positive();

export const orderSagaInput = z
  .object({
    orderId: name,
    sku: name,
    quantity: count,
    customer: name,
    /** In cents. */
    amount: count,
    topic: name.default('orders'),
    /** Whether the saga caches the placed order (its fourth step). */
    cache: z.boolean().default(true),
    /** The step after which the saga no longer compensates (none by default). */
    pivot: step.optional(),
    openingStock: z.number().int().min(0).optional(),
    openingBalance: z.number().int().min(0).optional(),
    /** Attempts of each compensation before the saga ends in compensation_failed. */
    compensationAttempts: z.number().int().min(1).max(1000).default(10),
    testFaults: z
      .object({
        /** This step's action fails (failTimes calls, or every call). */
        failStep: step.optional(),
        failTimes: count.optional(),
        /** This step's action pauses this long after applying its effect (first attempt only). */
        pauseStep: z.object({ step, ms: count }).strict().optional(),
        /** This step's compensation fails (failCompensationTimes calls, or every call). */
        failCompensation: step.optional(),
        failCompensationTimes: count.optional(),
        /** This step's compensation pauses this long after applying its effect (first attempt only). */
        pauseCompensation: z.object({ step, ms: count }).strict().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type OrderSagaInput = z.input<typeof orderSagaInput>;
export type OrderSagaSettings = z.output<typeof orderSagaInput>;
