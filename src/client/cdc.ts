// The CDC pattern's client side: a pipeline's status as it is now. The workflow records a
// streaming round's counts when the round ends (every streamRoundMs, 60 s by default); meanwhile
// the round's running counts travel in the pump's heartbeats, which Temporal keeps on the pending
// activity, so the status adds those of the round in flight. The query is answered before the
// activity is looked up: a round pending then was not yet recorded when the query was answered,
// so no round is counted twice (one that ended in between is missing until the next read).
import type { WorkflowHandle } from '@temporalio/client';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import { patternActivityName } from '../sdk/slot';
import { CDC } from '../workflows/cdc/slots';
import type { PumpProgress } from '../workflows/cdc/activity-io';
import { withRoundInFlight, type CdcStatus } from '../workflows/cdc/logic';
import { cdcStatusQuery } from '../workflows/cdc/workflow';

const PUMP_ACTIVITY = patternActivityName(CDC, 'source', 'pump');

/** The pipeline's `status` query answer, with the counts and position of the round in flight. */
export async function pipelineStatus(handle: WorkflowHandle): Promise<CdcStatus> {
  const status = await handle.query(cdcStatusQuery);
  const description = await handle.describe();
  const pump = description.raw.pendingActivities?.find((a) => a.activityType?.name === PUMP_ACTIVITY);
  const payloads = pump?.heartbeatDetails?.payloads;
  if (!payloads || payloads.length === 0) return status;
  const [round] = (await decodeArrayFromPayloads(handle.client.options.loadedDataConverter, payloads)) as (
    PumpProgress | undefined
  )[];
  return round ? withRoundInFlight(status, round) : status;
}
