// Bundles the built-in workflows once, at build time, so the worker starts without webpack: plain,
// and with Temporal's OpenTelemetry workflow interceptors for a worker that traces.
import { writeFileSync } from 'node:fs';
import { buildWorkflowBundle, PREBUILT_BUNDLE, PREBUILT_TRACED_BUNDLE } from '../src/runtime/workflow-bundle';

async function main(): Promise<void> {
  for (const [path, traced] of [
    [PREBUILT_BUNDLE, false],
    [PREBUILT_TRACED_BUNDLE, true],
  ] as const) {
    const bundle = await buildWorkflowBundle([], { traced });
    writeFileSync(path, bundle.code);
    process.stdout.write(`workflow bundle: ${path} (${(bundle.code.length / 1024).toFixed(0)} KiB)\n`);
  }
}

void main().catch((err: unknown) => {
  process.stderr.write(`bundling failed: ${(err as Error).message}\n`);
  process.exit(1);
});
