// Shared by the security tests: throwaway keys, codec configs and raw history payloads.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Payload } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { DIST_ROOT } from '../helpers/worker-process';

// The `temporal` CLI scripts/stack installs (or one on the PATH).
const STACK_CLI = join(process.env.PRISM_STACK_DIR ?? resolve(DIST_ROOT, '..', '.stack'), 'venv/bin/temporal');
export const TEMPORAL_CLI = existsSync(STACK_CLI) ? STACK_CLI : 'temporal';
export const CLI_MAIN = join(DIST_ROOT, 'src/cli/main.js');

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'prism-security-'));
}

/** A fresh 32-byte key written as base64 to a file; returns the path and the key. */
export function keyFile(dir: string, name: string): { file: string; key: Buffer } {
  const key = randomBytes(32);
  const file = join(dir, `${name}.key`);
  writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600 });
  return { file, key };
}

/**
 * Every payload in a history: inputs, results, activity inputs and results, local-activity markers.
 * Skipped: search attributes (the server indexes them, so no codec applies, by design) and the
 * `data` detail of local-activity markers, which the SDK core writes itself (sequence number,
 * activity type, timestamps; no user values) — the marker's `result` is still checked.
 */
export function skipped(key: string, parentKey: string): boolean {
  return key === 'searchAttributes' || (key === 'data' && parentKey === 'details');
}

export function historyPayloads(history: temporal.api.history.v1.IHistory): Payload[] {
  const out: Payload[] = [];
  const visit = (value: unknown, depth: number, parentKey = ''): void => {
    if (depth > 20 || value === null || typeof value !== 'object') return;
    if (ArrayBuffer.isView(value)) return;
    const maybe = value as { metadata?: unknown; data?: unknown };
    if (maybe.metadata && typeof maybe.metadata === 'object' && 'encoding' in maybe.metadata) {
      out.push(value as Payload);
      return;
    }
    for (const [k, v] of Object.entries(value)) if (!skipped(k, parentKey)) visit(v, depth + 1, k);
  };
  visit(history.events ?? [], 0);
  return out;
}

export function text(bytes: Uint8Array | null | undefined): string {
  return bytes ? Buffer.from(bytes).toString('utf8') : '';
}
