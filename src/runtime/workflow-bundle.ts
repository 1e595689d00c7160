// Workflow code is bundled once, ahead of time, by `npm run build` (dist/workflow-bundle.js).
// Patterns outside the built-in set bring their own workflow modules: then the worker bundles
// the built-in workflows together with theirs at start-up.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';

export const BUILTIN_WORKFLOWS = require.resolve('../workflows');
export const PAYLOAD_CONVERTER = require.resolve('../common/payload-converter');
export const PREBUILT_BUNDLE = resolve(__dirname, '../../workflow-bundle.js');

export async function buildWorkflowBundle(
  extraWorkflowModules: readonly string[] = [],
): Promise<WorkflowBundleWithSourceMap> {
  let workflowsPath = BUILTIN_WORKFLOWS;
  if (extraWorkflowModules.length > 0) {
    const dir = mkdtempSync(join(tmpdir(), 'prism-workflows-'));
    workflowsPath = join(dir, 'index.js');
    const lines = [BUILTIN_WORKFLOWS, ...extraWorkflowModules].map((m) => `export * from ${JSON.stringify(m)};`);
    writeFileSync(workflowsPath, lines.join('\n') + '\n');
  }
  return bundleWorkflowCode({
    workflowsPath,
    payloadConverterPath: PAYLOAD_CONVERTER,
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
  });
}

/** The prebuilt bundle's path when it can serve, else null. */
export function prebuiltBundle(extraWorkflowModules: readonly string[]): string | null {
  return extraWorkflowModules.length === 0 && existsSync(PREBUILT_BUNDLE) ? PREBUILT_BUNDLE : null;
}
