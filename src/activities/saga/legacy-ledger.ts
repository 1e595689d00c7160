// Reads the count of a ledger as versions before ledger_basic kept it: one JSON value
// { count, applied } per key in the orders slot's key-value store. Only read, never written, so a
// counter that ledger_basic does not have yet starts where the old ledger left it.
import type { KeyValueBasic } from '../../drivers/capabilities';

export async function legacyCount(kv: KeyValueBasic, key: string): Promise<number | undefined> {
  const stored = await kv.get(key);
  if (!stored) return undefined;
  try {
    const parsed = JSON.parse(new TextDecoder().decode(stored)) as { count?: unknown; applied?: unknown };
    return typeof parsed.count === 'number' && Array.isArray(parsed.applied) ? parsed.count : undefined;
  } catch {
    return undefined;
  }
}
