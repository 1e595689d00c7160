// Bundles the built-in workflows once, at build time, so the worker starts without webpack.
import { writeFileSync } from 'node:fs';
import { buildWorkflowBundle, PREBUILT_BUNDLE } from '../src/runtime/workflow-bundle';

async function main(): Promise<void> {
  const bundle = await buildWorkflowBundle();
  writeFileSync(PREBUILT_BUNDLE, bundle.code);
  process.stdout.write(`workflow bundle: ${PREBUILT_BUNDLE} (${(bundle.code.length / 1024).toFixed(0)} KiB)\n`);
}

void main().catch((err: unknown) => {
  process.stderr.write(`bundling failed: ${(err as Error).message}\n`);
  process.exit(1);
});
