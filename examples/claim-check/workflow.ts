// Step 4: the workflows. `claimCheckProduceWorkflow` checks large payloads in and publishes a
// notice per message, a few messages per activity batch, a bounded number of batches at once.
// `claimCheckRedeemWorkflow` turns a notice back into its payload, checking it out of the store.
import {
  bindSlots,
  decodeBase64,
  encodeBase64,
  fanOut,
  parseInput,
  useSlot,
  useSlotActivities,
} from '../../src/workflow';
import { encodeNotice, planNotice, type Notice } from './claim';
import { produceInput, type ProduceInput, type ProduceResult } from './input';
import { CLAIM_CHECK, claimCheckSlots, type PayloadActivities } from './slots';

export async function claimCheckProduceWorkflow(rawInput: ProduceInput): Promise<ProduceResult> {
  const input = parseInput(produceInput, rawInput);
  const slots = await bindSlots(CLAIM_CHECK);
  const payloads = useSlot(slots.payloads, claimCheckSlots.payloads);
  const notices = useSlot(slots.notices, claimCheckSlots.notices);

  const outcome = await fanOut(
    input.messages,
    async (batch) => {
      const sent: Notice[] = [];
      for (const message of batch) {
        const body = decodeBase64(message.body);
        const notice = planNotice(message.id, body, input.thresholdBytes, input.keyPrefix);
        // Check in before announcing: a subscriber must never see a claim it cannot redeem.
        if ('claim' in notice) await payloads.set(notice.claim, body);
        await notices.publish(input.topic, encodeNotice(notice), { 'content-type': 'application/json' });
        sent.push(notice);
      }
      return sent;
    },
    { batchSize: 5, concurrency: 4 },
  );

  const sent = outcome.results.filter((n): n is Notice => n !== undefined);
  return {
    inline: sent.filter((n) => 'inline' in n).length,
    checkedIn: sent.filter((n) => 'claim' in n).length,
    failed: outcome.failures.map((f) => ({ ids: f.items.map((m) => m.id), message: f.message })),
  };
}

/** Returns the payload (base64) of a notice; null when its claim was already redeemed. */
export async function claimCheckRedeemWorkflow(notice: Notice): Promise<string | null> {
  if ('inline' in notice) return notice.inline;
  const slots = await bindSlots(CLAIM_CHECK);
  const acts = useSlotActivities<PayloadActivities>(slots.payloads);
  const payload = await acts.checkOut(notice.claim);
  return payload === null ? null : encodeBase64(payload);
}
