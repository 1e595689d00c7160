// Step 6: a worker process hosting the built-in patterns and this one:
//   node dist/examples/claim-check/worker.js --config examples/claim-check/prism.yaml
import { builtinPatterns, runWorker } from '../../src/index';
import { claimCheckPattern } from './pattern';

void runWorker(process.argv.slice(2), { patterns: builtinPatterns().register(claimCheckPattern) }).then((code) =>
  process.exit(code),
);
