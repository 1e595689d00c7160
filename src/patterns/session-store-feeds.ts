// Starting the session store's replication workflows: one per (shard, other region), started
// idempotently by workflow id with signal-with-start (a running one is only told the topology,
// which it adopts from its next round). The worker does it at start-up for the regions in its
// settings; a SessionStore given `replication` does it at connect for its own region's shards
// (for a worker whose config names no regions). Writes themselves never call Temporal.
import type { WorkflowClient } from '@temporalio/client';
import {
  FEED_TOPOLOGY_SIGNAL,
  feedReplicationWorkflowId,
  type FeedReplicationInput,
  type FeedTopology,
} from '../workflows/session-store/input';
import { PRISM_PATTERN } from '../workflows/search-attributes';
import { SESSION_STORE } from '../workflows/session-store/slots';

/** Starts (or finds running) the workflow of every shard of `fromRegions` towards every other region. */
export async function startFeedReplication(
  client: WorkflowClient,
  taskQueue: string,
  topology: FeedTopology,
  fromRegions: readonly string[] = Object.keys(topology.regions),
  roundMs?: number,
): Promise<string[]> {
  const started: string[] = [];
  for (const region of fromRegions) {
    for (const shard of topology.regions[region] ?? []) {
      for (const target of Object.keys(topology.regions)) {
        if (target === region) continue;
        const workflowId = feedReplicationWorkflowId(taskQueue, shard, target);
        const input: FeedReplicationInput = {
          shard,
          target,
          regions: topology.regions,
          virtualNodes: topology.virtualNodes,
          ...(roundMs === undefined ? {} : { roundMs }),
        };
        await client.signalWithStart('sessionFeedReplicationWorkflow', {
          workflowId,
          taskQueue,
          args: [input],
          signal: FEED_TOPOLOGY_SIGNAL,
          signalArgs: [topology],
          typedSearchAttributes: [{ key: PRISM_PATTERN, value: SESSION_STORE }],
        });
        started.push(workflowId);
      }
    }
  }
  return started;
}
