// The ordered key index of the in-process key-value store: keys in code-unit order, so a scan
// resumes strictly after the last key it returned, whatever was written or deleted meanwhile.

export class SortedKeys {
  private readonly keys: string[] = [];

  /** First index whose key is >= key (or > key when strict). */
  bound(key: string, strict = false): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const k = this.keys[mid];
      if (k < key || (strict && k === key)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  at(index: number): string | undefined {
    return this.keys[index];
  }

  insert(key: string): void {
    const i = this.bound(key);
    if (this.keys[i] !== key) this.keys.splice(i, 0, key);
  }

  remove(key: string): void {
    const i = this.bound(key);
    if (this.keys[i] === key) this.keys.splice(i, 1);
  }

  clear(): void {
    this.keys.length = 0;
  }
}
