// Dependency rules, checked in lint (npm run lint): no import cycles, and no import from a layer
// above. Layers, lowest first; a folder may import its own and any lower one.
const LAYERS = [
  'common',
  'drivers',
  'resilience',
  'observability',
  'security',
  'config',
  'sdk',
  'workflows',
  'activities',
  'patterns',
  'runtime',
  'client',
  'cli',
];
const above = (i) =>
  LAYERS.slice(i + 1)
    .map((l) => `^src/${l}/`)
    .concat(['^src/[^/]+\\.ts$']);

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import cycle: split the shared piece into a module both can import.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...LAYERS.slice(0, -1).map((layer, i) => ({
      name: `no-upward-from-${layer}`,
      comment: `src/${layer} may import only ${LAYERS.slice(0, i).join(', ') || 'nothing else in src'} (layers in .dependency-cruiser.cjs)`,
      severity: 'error',
      from: { path: `^src/${layer}/` },
      to: {
        path: above(i),
        // Workflows name their activities' types (typed proxies): checked by the next rule.
        ...(layer === 'workflows' ? { pathNot: '^src/activities/' } : {}),
      },
    })),
    {
      name: 'workflows-import-activity-types-only',
      comment: 'Workflow code runs in the sandbox: it may name activity types, never import activity code.',
      severity: 'error',
      from: { path: '^src/workflows/' },
      to: { path: '^src/activities/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'workflows-are-deterministic',
      comment:
        'Workflow code imports only @temporalio/workflow (and common) and pure modules: no Node built-ins, no clients.',
      severity: 'error',
      from: { path: '^src/workflows/' },
      to: {
        dependencyTypes: ['core', 'npm', 'npm-dev', 'npm-peer', 'npm-optional', 'npm-no-pkg', 'npm-unknown'],
        dependencyTypesNot: ['type-only'],
        pathNot: '^node_modules/(@temporalio/(workflow|common)|zod)/',
      },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    // A worktree may link node_modules from another checkout: keep the paths as they are written.
    preserveSymlinks: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
