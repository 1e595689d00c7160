// The session store's workflows, each in its own file beside this one: shipping a shard's change
// feed to another region (one per shard and other region, started by the worker), moving sessions
// after the topology changed, and the per-session replication an earlier version started (still
// registered so its runs finish).
export { sessionFeedReplicationWorkflow } from './feed-replication-workflow';
export { sessionRebalanceWorkflow } from './rebalance-workflow';
export { sessionReplicationWorkflow } from './replication-workflow';
