// Input of the order example saga. Strict: an unknown field (a misspelt one, or the testFaults of
// earlier versions) is refused naming it. Tests inject faults from their worker, never from input.
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
    /** How long an action's transient failures are retried before the saga compensates. */
    actionRetrySeconds: z.number().int().min(1).max(86_400).default(120),
    /** Attempts of an action within actionRetrySeconds; 0: as many as fit. */
    actionAttempts: z.number().int().min(0).max(1000).default(0),
    /** Attempts of each compensation before the saga ends in compensation_failed. */
    compensationAttempts: z.number().int().min(1).max(1000).default(10),
  })
  .strict();

export type OrderSagaInput = z.input<typeof orderSagaInput>;
export type OrderSagaSettings = z.output<typeof orderSagaInput>;

/**
 * Sagas started by earlier versions (before ORDER_KEYS_PATCH) may carry their testFaults: accepted
 * when such a saga is replayed, so it goes on after an upgrade, and ignored.
 */
export const legacyOrderSagaInput = orderSagaInput.extend({ testFaults: z.unknown().optional() });
