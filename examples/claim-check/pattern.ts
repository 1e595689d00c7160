// Step 5: the pattern definition — slots, workflows, and the activities bound to a slot's driver.
import { resolve } from 'node:path';
import { z } from 'zod';
import { definePattern, schemaCheck, type Ops } from '../../src/index';
import { produceInput } from './input';
import { CLAIM_CHECK, claimCheckSlots, type PayloadActivities } from './slots';

/** `patterns.claim-check.settings` in the config; validated when the worker starts. */
export const claimCheckSettings = z.strictObject({
  /** Delete a payload when its claim is redeemed (a claim check is single-use). */
  deleteOnCheckOut: z.boolean().default(true),
});

export const claimCheckPattern = definePattern({
  name: CLAIM_CHECK,
  description: 'checks large payloads into a keyvalue slot and publishes notices with a claim key',
  slots: claimCheckSlots,
  workflows: ['claimCheckProduceWorkflow', 'claimCheckRedeemWorkflow'],
  // Workflows outside the built-in bundle: the worker bundles this module at start-up.
  workflowsPath: resolve(__dirname, 'workflow'),
  // The schema the produce workflow parses with, for clients that check an input before starting.
  inputs: { claimCheckProduceWorkflow: schemaCheck(produceInput) },
  settingsSchema: claimCheckSettings,
  slotActivities: {
    payloads: (driver: Ops<'keyvalue_basic'>, { settings }): PayloadActivities => ({
      async checkOut(key) {
        const payload = await driver.get(key);
        if (payload !== null && settings.deleteOnCheckOut) await driver.delete(key);
        return payload;
      },
    }),
  },
});
