// Build step: marks the package's bin entries (package.json "bin") executable, so `npx prism` on a
// fresh clone and `./dist/src/cli/main.js` run as they are (tsc writes plain 644 files).
import { chmodSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };
for (const file of Object.values(pkg.bin)) chmodSync(join(root, file), 0o755);
