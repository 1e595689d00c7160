// Workflow code is bundled once, ahead of time, by `npm run build` (dist/workflow-bundle.js).
// Patterns outside the built-in set bring their own workflow modules: then the worker bundles
// the built-in workflows together with theirs at start-up.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';

export const BUILTIN_WORKFLOWS = require.resolve('../workflows');
export const PAYLOAD_CONVERTER = require.resolve('../common/payload-converter');
export const PREBUILT_BUNDLE = resolve(__dirname, '../../workflow-bundle.js');
/** The same workflows with Temporal's OpenTelemetry workflow interceptors, for a worker that traces. */
export const PREBUILT_TRACED_BUNDLE = resolve(__dirname, '../../workflow-bundle-traced.js');
const OTEL_WORKFLOW_INTERCEPTORS = require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');
/** Where this package's @temporalio/workflow lives: the bundle's entry may sit outside the package. */
const WORKFLOW_SDK_MODULES = resolve(dirname(require.resolve('@temporalio/workflow/package.json')), '../..');

export async function buildWorkflowBundle(
  extraWorkflowModules: readonly string[] = [],
  options: { traced?: boolean } = {},
): Promise<WorkflowBundleWithSourceMap> {
  let workflowsPath = BUILTIN_WORKFLOWS;
  // The combined entry goes to a temporary folder, never into the installed package (which may be
  // read-only); webpack is told where the package's own modules are.
  const dir = extraWorkflowModules.length > 0 ? mkdtempSync(join(tmpdir(), 'prism-workflows-')) : undefined;
  if (dir) {
    workflowsPath = join(dir, 'index.js');
    const modules = [BUILTIN_WORKFLOWS, ...extraWorkflowModules].map((m) => `...require(${JSON.stringify(m)})`);
    writeFileSync(workflowsPath, `module.exports = { ${modules.join(', ')} };\n`);
  }
  try {
    return await bundleWorkflowCode({
      workflowsPath,
      payloadConverterPath: PAYLOAD_CONVERTER,
      ...(options.traced ? { workflowInterceptorModules: [OTEL_WORKFLOW_INTERCEPTORS] } : {}),
      webpackConfigHook: (config) => ({
        ...config,
        resolve: { ...config.resolve, modules: [...(config.resolve?.modules ?? []), WORKFLOW_SDK_MODULES] },
      }),
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
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/** The prebuilt bundle's path when it can serve, else null. */
export function prebuiltBundle(extraWorkflowModules: readonly string[], traced = false): string | null {
  const path = traced ? PREBUILT_TRACED_BUNDLE : PREBUILT_BUNDLE;
  return extraWorkflowModules.length === 0 && existsSync(path) ? path : null;
}
