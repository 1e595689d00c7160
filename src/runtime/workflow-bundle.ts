// Workflow code is bundled once, ahead of time, by `npm run build` (dist/workflow-bundle.js).
// Patterns outside the built-in set bring their own workflow modules: then the worker bundles
// the built-in workflows together with theirs at start-up.
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';

export const BUILTIN_WORKFLOWS = require.resolve('../workflows');
export const PAYLOAD_CONVERTER = require.resolve('../common/payload-converter');
export const PREBUILT_BUNDLE = resolve(__dirname, '../../workflow-bundle.js');
const GENERATED_DIR = resolve(__dirname, '../../.generated');

export async function buildWorkflowBundle(
  extraWorkflowModules: readonly string[] = [],
): Promise<WorkflowBundleWithSourceMap> {
  let workflowsPath = BUILTIN_WORKFLOWS;
  if (extraWorkflowModules.length > 0) {
    // Inside the package, so webpack finds @temporalio/workflow in the package's node_modules.
    mkdirSync(GENERATED_DIR, { recursive: true });
    const dir = mkdtempSync(join(GENERATED_DIR, 'workflows-'));
    workflowsPath = join(dir, 'index.js');
    const modules = [BUILTIN_WORKFLOWS, ...extraWorkflowModules].map((m) => `...require(${JSON.stringify(m)})`);
    writeFileSync(workflowsPath, `module.exports = { ${modules.join(', ')} };\n`);
  }
  return bundleWorkflowCode({
    workflowsPath,
    payloadConverterPath: PAYLOAD_CONVERTER,
    // Webpack's progress is noise; its errors are what a user needs to see.
    logger: {
      log() {},
      trace() {},
      debug() {},
      info() {},
      warn() {},
      error: (message, meta) =>
        process.stderr.write(`workflow bundle: ${message} ${meta ? JSON.stringify(meta) : ''}\n`),
    },
  });
}

/** The prebuilt bundle's path when it can serve, else null. */
export function prebuiltBundle(extraWorkflowModules: readonly string[]): string | null {
  return extraWorkflowModules.length === 0 && existsSync(PREBUILT_BUNDLE) ? PREBUILT_BUNDLE : null;
}
