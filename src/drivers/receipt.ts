// The queue receipt of the redis and memory drivers: `<messageId>.<token>`, the token naming the
// delivery (its count) or `dlq` for a dead letter. Split at the last dot, so ids may hold dots.
import { DriverError } from './errors';

export function parseReceipt(driver: string, receipt: unknown): { id: string; token: string } {
  const invalid = (message: string): DriverError => new DriverError(driver, 'InvalidArgument', message);
  if (typeof receipt !== 'string') throw invalid('receipt must be a string');
  const dot = receipt.lastIndexOf('.');
  if (dot <= 0 || dot === receipt.length - 1) throw invalid('malformed receipt');
  return { id: receipt.slice(0, dot), token: receipt.slice(dot + 1) };
}
