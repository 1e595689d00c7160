// docs/capabilities.md is generated from the drivers' declarations and must be up to date.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { capabilityMatrix, MATRIX_FILE } from '../../scripts/capability-matrix';

it("docs/capabilities.md matches the drivers' declarations", () => {
  const onDisk = readFileSync(MATRIX_FILE, 'utf8');
  const generated = capabilityMatrix();
  assert.ok(
    onDisk.startsWith(generated.trimEnd()),
    'docs/capabilities.md is out of date: run npm run build && node dist/scripts/capability-matrix.js',
  );
});
