// Every built-in workflow, bundled once ahead of time (scripts/bundle-workflows.ts).
export { kvProbeWorkflow } from './kv-probe/workflow';
