// Redis Cluster slots: the slot a key hashes to, and for each slot a short hash tag that hashes to
// it, so the driver can put its own keys (CAS versions, queue parts, ledger records) on the slot of
// the key they belong to. A tag chosen by slot, not copied from the user's key, works for every
// key: a key with braces of its own, or starting with '}', would make a copied tag empty or short.
import calculateSlot from 'cluster-key-slot';

export const SLOT_COUNT = 16_384;

export function slotOf(key: string | Buffer): number {
  return calculateSlot(key);
}

const TAG_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
let tags: string[] | undefined;

/** Strings of up to three letters and digits reach every slot (built once, ~70 ms). */
function buildTags(): string[] {
  const table = new Array<string>(SLOT_COUNT);
  let found = 0;
  const visit = (candidate: string): void => {
    const slot = calculateSlot(candidate);
    if (table[slot] === undefined) {
      table[slot] = candidate;
      found += 1;
    }
  };
  for (const a of TAG_ALPHABET) visit(a);
  for (const a of TAG_ALPHABET) for (const b of TAG_ALPHABET) visit(a + b);
  for (const a of TAG_ALPHABET) for (const b of TAG_ALPHABET) for (const c of TAG_ALPHABET) visit(a + b + c);
  if (found !== SLOT_COUNT) throw new Error(`hash tags reach only ${found} of ${SLOT_COUNT} slots`);
  return table;
}

/** `{t}` where t hashes to `slot`: a key whose first braces are these lands on that slot. */
export function hashTagFor(slot: number): string {
  tags ??= buildTags();
  return `{${tags[slot]}}`;
}
