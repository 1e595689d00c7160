// Splitting work into batches: pure, so fan-out plans are the same on every replay.

/** A run of consecutive items: `offset` is the index of its first item in the input. */
export interface Batch<T> {
  index: number;
  offset: number;
  items: T[];
}

export function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

/** Consecutive batches of at most `size` items, in input order. */
export function toBatches<T>(items: readonly T[], size: number): Batch<T>[] {
  positiveInteger('batchSize', size);
  const batches: Batch<T>[] = [];
  for (let offset = 0; offset < items.length; offset += size) {
    batches.push({ index: batches.length, offset, items: items.slice(offset, offset + size) });
  }
  return batches;
}
