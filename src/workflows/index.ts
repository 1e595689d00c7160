// Every built-in workflow, bundled once ahead of time (scripts/bundle-workflows.ts).
export { kvProbeWorkflow } from './kv-probe/workflow';
export {
  sessionFeedReplicationWorkflow,
  sessionReplicationWorkflow,
  sessionRebalanceWorkflow,
} from './session-store/workflow';
export { cdcPipelineWorkflow } from './cdc/workflow';
export { multicastWorkflow, multicastRegistryOperationWorkflow } from './multicast-registry/workflow';
export { orderSagaWorkflow, orderPlainWorkflow, declarativeSagaWorkflow } from './saga/workflow';
