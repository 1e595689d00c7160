// The steps a multicast workflow is told in (workflow.ts): what one run knows, its progress and
// queries, its start, its continue-as-new, its end. The sending itself is in paged-send.ts (pages,
// today's path) and batched-send.ts (runs begun before pages).
import {
  ApplicationFailure,
  continueAsNew,
  defineQuery,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { MarkLayout } from '../../activities/multicast-registry/claim-marks';
import type { RegistryActivities } from '../../activities/multicast-registry/registry-activities';
import type { SlotBinding, SlotBindings } from '../../sdk/slot';
import { PRISM_PATTERN, PRISM_PROGRESS, PRISM_STATUS } from '../search-attributes';
import { useSlotActivities } from '../slots';
import { channelDelivery, channelSenders, type ChannelSender, type DeliverVia } from './channel-delivery';
import type { MulticastInput, MulticastOptions, MulticastProgress, MulticastReport } from './input';
import { MulticastLedger, type LedgerState } from './logic';
import { MULTICAST_REGISTRY } from './slots';

export const multicastReportQuery = defineQuery<MulticastReport>('multicastReport');
/** Counts only, for polling: the report carries up to STATUS_LIST_LIMIT target statuses. */
export const multicastProgressQuery = defineQuery<MulticastProgress>('multicastProgress');

/** What a multicast carries into its next run after continue-as-new. */
export interface MulticastCarry {
  cursor: string | null;
  ledger: LedgerState;
  runs: number;
  /** Where the multicast keeps its claim marks, as its first run decided (absent: one key per target). */
  marks?: MarkLayout;
}

/** Past this many events a run continues as new even if Temporal has not suggested it yet. */
const HISTORY_EVENTS_PER_RUN = 20_000;

/** Past this many history bytes a paged run continues as new (the bound is 2 MB per run). */
const HISTORY_BYTES_PER_RUN = 1_000_000;

/** The multicast's counts and statuses, answering both queries from the first workflow task on. */
export class MulticastTracker {
  readonly ledger: MulticastLedger;
  private done = false;

  constructor(
    private readonly input: MulticastOptions,
    carry: MulticastCarry | undefined,
    /** Where a paged multicast's delivered targets are listed (its report rows), named in the report. */
    private readonly reportId: { reportId: string } | Record<string, never>,
  ) {
    this.ledger = new MulticastLedger(carry?.ledger);
    setHandler(multicastReportQuery, () => this.report());
    setHandler(multicastProgressQuery, () => this.ledger.progress(this.done));
  }

  report(): MulticastReport {
    return { ...this.ledger.report(this.done, this.input.delivery, this.input.channel), ...this.reportId };
  }

  /** Shows the multicast as running, with the targets accounted so far (a carried run's too). */
  markRunning(): void {
    upsertSearchAttributes([
      { key: PRISM_PATTERN, value: MULTICAST_REGISTRY },
      { key: PRISM_STATUS, value: 'running' },
      { key: PRISM_PROGRESS, value: this.ledger.accounted },
    ]);
  }

  markProgress(): void {
    upsertSearchAttributes([{ key: PRISM_PROGRESS, value: this.ledger.accounted }]);
  }

  /** Every target is accounted for: the final report, and the status it ends with. */
  finish(): MulticastReport {
    this.done = true;
    const final = this.report();
    upsertSearchAttributes([
      { key: PRISM_STATUS, value: final.failed === 0 ? 'completed' : 'completed_with_failures' },
      { key: PRISM_PROGRESS, value: this.ledger.accounted },
    ]);
    return final;
  }
}

/** What every step of one run of a multicast uses. */
export interface MulticastRun {
  rawInput: MulticastInput;
  input: MulticastOptions;
  carry: MulticastCarry | undefined;
  tracker: MulticastTracker;
  slots: SlotBindings;
  /** Registry operations (enumerate, record delivered), retried as any activity. */
  registry: RegistryActivities;
  channels: ChannelSender[];
  deliverVia: DeliverVia;
}

/** The durability slot is optional: a clear, non-retryable refusal when an operation needs it unbound. */
export function durabilitySlot(binding: SlotBinding | undefined, needer: string): SlotBinding {
  if (binding) return binding;
  throw ApplicationFailure.nonRetryable(
    `${needer} needs the multicast registry's durability slot, which this worker's config does not bind ` +
      '(patterns.multicast-registry.slots.durability: a backend with queue_basic)',
    'DurabilityNotConfigured',
  );
}

/**
 * The run's activities on its bound slots. Before any work: `queue` and `both` need the optional
 * durability slot (refused here otherwise). Issues no command.
 */
export function prepareRun(
  rawInput: MulticastInput,
  input: MulticastOptions,
  carry: MulticastCarry | undefined,
  tracker: MulticastTracker,
  slots: SlotBindings,
): MulticastRun {
  const durability =
    input.channel === 'pubsub'
      ? undefined
      : durabilitySlot(slots.durability as SlotBinding | undefined, `channel: "${input.channel}"`);
  return {
    rawInput,
    input,
    carry,
    tracker,
    slots,
    registry: useSlotActivities<RegistryActivities>(slots.registry, { startToCloseTimeout: '10m' }),
    channels: channelSenders(input, workflowInfo().workflowId, slots.messaging, durability),
    deliverVia: channelDelivery(input),
  };
}

/** Whether this run should hand over to a new one after `pages` pages (`bySize`: paged runs also bound bytes). */
export function runIsFull(run: MulticastRun, pages: number, bySize: boolean): boolean {
  const info = workflowInfo();
  return (
    info.continueAsNewSuggested ||
    info.historyLength > HISTORY_EVENTS_PER_RUN ||
    (bySize && info.historySize > HISTORY_BYTES_PER_RUN) ||
    (run.input.pagesPerRun !== undefined && pages >= run.input.pagesPerRun)
  );
}

/**
 * Goes on in a new run from `cursor`, carrying the ledger (and where the claim marks are kept);
 * everything this run started is settled.
 */
export async function continueFrom(run: MulticastRun, cursor: string | null, marks?: MarkLayout): Promise<never> {
  return continueAsNew<(input: MulticastInput, carry?: MulticastCarry) => Promise<MulticastReport>>(run.rawInput, {
    cursor,
    ledger: run.tracker.ledger.state(),
    runs: (run.carry?.runs ?? 1) + 1,
    ...(marks === undefined ? {} : { marks }),
  });
}
