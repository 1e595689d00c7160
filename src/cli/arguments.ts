// Parsers for option values: a bad value is a usage error (exit 2) that names the option.
import { InvalidArgumentError } from 'commander';

/** A whole number ≥ 0 (`--ttl 60`, `--limit 100`). */
export function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`expected a whole number, got "${value}"`);
  return Number(value);
}

/** A TCP port, 0 for any free one. */
export function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535)
    throw new InvalidArgumentError(`expected a port number 0..65535, got "${value}"`);
  return n;
}

/** Repeatable option: collects every occurrence (`--attr a=1 --attr b=2`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
