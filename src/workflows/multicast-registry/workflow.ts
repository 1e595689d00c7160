// The multicast registry's workflows.
//
// multicastWorkflow: sends a payload to every identity matching a filter and accounts for every
// target in a report that is both the result and the `multicastReport` query (`multicastProgress`
// answers the counts alone, for polling). Its body is the story; the steps are named beside it:
// steps.ts (progress and queries, the run's activities, continue-as-new), paged-send.ts (one
// activity per page: scan, filter, claim, send, record; failed targets retried per channel; claim
// marks in one map per multicast since multicast-marks-in-one-map),
// batched-send.ts (runs begun before pages: a page enumerated, then sent in batches),
// channel-delivery.ts (one channel's retries of a batch). Channels: `pubsub` publishes on the
// messaging slot, `queue` enqueues on the optional durability slot, `both` does both and counts a
// target delivered only when every channel took it. History stays bounded: the workflow holds
// cursors and counts, and continues as new between pages when Temporal suggests it, past an event
// or byte bound, or after `pagesPerRun` pages, carrying the cursor and the bounded ledger.
//
// multicastRegistryOperationWorkflow: one registry operation (register, heartbeat, unregister,
// enumerate) or inbox operation (receive, ack) as a short workflow, for clients without a direct
// connection to the backend.
import { patched } from '@temporalio/workflow';
import type { MarkLayout } from '../../activities/multicast-registry/claim-marks';
import type { DurabilityActivities } from '../../activities/multicast-registry/durability-activities';
import type { RegistryActivities } from '../../activities/multicast-registry/registry-activities';
import type { SlotBinding } from '../../sdk/slot';
import { parseInput } from '../input';
import { bindSlots, useSlotActivities } from '../slots';
import { sendByBatches } from './batched-send';
import {
  multicastInput,
  registryOperationInput,
  type MulticastInput,
  type MulticastReport,
  type RegistryOperationInput,
  type RegistryOperationResult,
} from './input';
import { reportRowsId, sendByPages } from './paged-send';
import { MULTICAST_REGISTRY } from './slots';
import { durabilitySlot, MulticastTracker, prepareRun, type MulticastCarry } from './steps';

export { multicastProgressQuery, multicastReportQuery, type MulticastCarry } from './steps';

export async function multicastWorkflow(rawInput: MulticastInput, carry?: MulticastCarry): Promise<MulticastReport> {
  const input = parseInput(multicastInput, rawInput);
  // Enumeration may yield an identity twice (SCAN repeats, a scan started again after the
  // registry's server changed): each page is claimed in the registry (marks per multicast, kept
  // there rather than in history), so a target is sent and counted once. Runs begun before this
  // existed go on without it. Asked first, before any command, so replay always meets the marker
  // where it was recorded.
  const claimTargets = patched('multicast-claim-targets');
  // Pages: one activity scans, filters, claims, sends and records a page, and returns counts and
  // failures only; delivered targets are listed in the registry's report rows, not in history.
  const byPages = patched('multicast-pages');
  // Claim marks and page records in one map per multicast (where the registry's backend keeps
  // maps), not one key per target, so they no longer add to every later scan of the registry.
  const marks = byPages ? markLayout(carry) : undefined;
  // The queries answer from the first workflow task on, before any activity ran.
  const tracker = new MulticastTracker(input, carry, byPages ? { reportId: reportRowsId() } : {});
  const slots = await bindSlots(MULTICAST_REGISTRY);
  const run = prepareRun(rawInput, input, carry, tracker, slots);
  tracker.markRunning();
  if (byPages) await sendByPages(run, marks);
  else await sendByBatches(run, claimTargets);
  return tracker.finish();
}

/**
 * Where a paged multicast keeps its claim marks: decided in its first run and carried, so one begun
 * before maps keeps one key per target to the end (undefined), its continued runs included.
 */
function markLayout(carry: MulticastCarry | undefined): MarkLayout | undefined {
  if (carry !== undefined) return carry.marks;
  return patched('multicast-marks-in-one-map') ? 'map' : undefined;
}

export async function multicastRegistryOperationWorkflow(
  rawInput: RegistryOperationInput,
): Promise<RegistryOperationResult> {
  const input = parseInput(registryOperationInput, rawInput);
  const slots = await bindSlots(MULTICAST_REGISTRY);
  const registry = useSlotActivities<RegistryActivities>(slots.registry);
  switch (input.op) {
    case 'register':
      return registry.register({
        registry: input.registry,
        identity: input.identity,
        metadata: input.metadata,
        ttlSeconds: input.ttlSeconds,
        replace: input.replace,
      });
    case 'heartbeat':
      return registry.heartbeat({ registry: input.registry, identity: input.identity, ttlSeconds: input.ttlSeconds });
    case 'unregister':
      return registry.unregister({ registry: input.registry, identity: input.identity });
    case 'enumerate':
      return registry.enumerate({
        registry: input.registry,
        filter: input.filter,
        limit: input.limit,
        cursor: input.cursor,
      });
    case 'delivered':
      return registry.delivered({
        registry: input.registry,
        reportId: input.reportId,
        cursor: input.cursor,
        rows: input.rows,
      });
    case 'receive':
    case 'ack': {
      const binding = durabilitySlot(slots.durability as SlotBinding | undefined, `op: "${input.op}"`);
      // A retried receive is harmless: what the lost attempt handed out reappears after its timeout.
      const inbox = useSlotActivities<DurabilityActivities>(
        binding,
        input.op === 'receive' ? { startToCloseTimeout: input.waitMs + 30_000 } : {},
      );
      const address = { registry: input.registry, identity: input.identity, queuePrefix: input.queuePrefix };
      if (input.op === 'ack') return inbox.ack({ ...address, receipt: input.receipt });
      return inbox.receive({
        ...address,
        max: input.max,
        visibilityTimeoutMs: input.visibilityTimeoutMs,
        waitMs: input.waitMs,
      });
    }
  }
}
