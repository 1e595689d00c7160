// The multicast as runs begun before pages send it (kept so they replay and finish as they began):
// enumerate matching identities page by page (a heartbeating activity on the registry slot), fan
// each page out in batches through the shared FanOutPool primitive (one activity per batch and
// channel, at most `concurrency` batches in flight across pages), and account for every target in
// the ledger, statuses included.
import { workflowInfo } from '@temporalio/workflow';
import { FanOutPool } from '../primitives/fan-out';
import { settleOnEveryChannel, type Settle } from './channel-delivery';
import { continueFrom, runIsFull, type MulticastRun } from './steps';

const DEFAULT_ENUMERATE_PAGE = 1_000;

/** `claimTargets`: the run claims each page's targets (the multicast-claim-targets patch). */
export async function sendByBatches(run: MulticastRun, claimTargets: boolean): Promise<void> {
  const { input, carry, tracker, registry } = run;
  // Batches from every page share one pool of `concurrency` lanes: the next page is enumerated
  // while the previous page's batches are still being sent.
  const pool = new FanOutPool<string>(batchDelivery(run), {
    batchSize: input.batchSize,
    concurrency: input.concurrency,
  });
  const settleAll = async (): Promise<void> => {
    // Every send failure is accounted for in the ledger: anything thrown is a cancellation or a
    // bug, and ends the workflow as it would without the pool.
    const { failures } = await pool.drain();
    if (failures.length > 0) throw failures[0].error;
  };

  let cursor = carry?.cursor ?? null;
  let enumerated = carry !== undefined && carry.cursor === null;
  let pages = 0;
  while (!enumerated) {
    const page = await registry.enumerateTargets({
      registry: input.registry,
      filter: input.filter,
      limit: input.pageSize ?? DEFAULT_ENUMERATE_PAGE,
      cursor,
      ...(claimTargets && {
        claim: { multicastId: workflowInfo().firstExecutionRunId, token: `${workflowInfo().runId}/${pages}` },
      }),
    });
    tracker.ledger.addTargets(page.identities.length);
    await pool.submit(page.identities);
    cursor = page.cursor;
    enumerated = cursor === null;
    pages += 1;
    tracker.markProgress();
    if (!enumerated && runIsFull(run, pages, false)) {
      // Everything this run started is accounted for before the ledger moves to the next run.
      await settleAll();
      await continueFrom(run, cursor);
    }
  }
  await settleAll();
}

/** Every channel at once; a target goes into the ledger when its last channel has settled it. */
function batchDelivery(run: MulticastRun): (batch: string[]) => Promise<void> {
  const { input, channels, deliverVia, tracker } = run;
  const record: Settle = (identity, attempts, error) =>
    error === undefined ? tracker.ledger.deliver(identity, attempts) : tracker.ledger.fail(identity, attempts, error);
  return async (batch) => {
    if (input.channel === 'pubsub') return deliverVia(channels[0][1], batch, record);
    const settleOn = settleOnEveryChannel(
      batch,
      channels.length,
      0,
      (name, error) => `${name}: ${error}`,
      (identity, attempts, errors) => record(identity, attempts, errors.length > 0 ? errors.join('; ') : undefined),
    );
    await Promise.all(channels.map(([name, send]) => deliverVia(send, batch, settleOn(name))));
  };
}
