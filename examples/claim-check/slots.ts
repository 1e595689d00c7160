// Step 1: the slots — what the pattern needs from backends, by capability, not by product.
import { slot } from '../../src/workflow';

export const CLAIM_CHECK = 'claim-check';

export const claimCheckSlots = {
  payloads: slot(['keyvalue_basic'], { description: 'where large payloads wait to be claimed' }),
  notices: slot(['pubsub_basic'], { description: 'where a notice per message is published' }),
};

/** The pattern's own activities on the payloads slot (a `type`: it must fit ActivityMap). */
export type PayloadActivities = {
  /** Reads a stored payload and deletes it: a claim check is redeemed once. */
  checkOut(key: string): Promise<Uint8Array | null>;
};
