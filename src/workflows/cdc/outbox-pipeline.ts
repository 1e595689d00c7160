// Outbox mode as a staged Pipeline: poll → deliver → markPublished. The next batch is polled while
// the one before is delivered and marked (the poll skips the ranges of batches still in flight),
// deliver and markPublished each run one batch at a time in poll order (so per-key order holds),
// and at most MAX_UNMARKED batches are polled and not yet marked: bounded memory and payloads.
// Workflow code: activities and promises only.
import { condition } from '@temporalio/workflow';
import { Pipeline } from '../primitives/pipeline';
import type { SourceActivities } from '../../activities/cdc/source-activities';
import type { DeliverResult, OutboxRange, PollOutboxRequest, PollOutboxResult } from './activity-io';
import type { OutboundMessage } from './events';

/** Batches polled and not yet marked published, at most (the one being delivered + the next). */
export const MAX_UNMARKED = 2;

/** What the outboxPipeline query shows: proof of overlap and of the bound, for this run. */
export interface OutboxPipelineStats {
  /** Polls issued (empty ones included). */
  polls: number;
  /** Polls issued while an earlier batch was still being delivered or marked. */
  pollsAhead: number;
  /** The most batches polled and not yet marked at once (≤ MAX_UNMARKED). */
  maxUnmarked: number;
}

export function initialOutboxStats(): OutboxPipelineStats {
  return { polls: 0, pollsAhead: 0, maxUnmarked: 0 };
}

export interface OutboxRound {
  batch: PollOutboxResult;
  delivered: DeliverResult;
}

export interface OutboxPipelineDeps {
  source: Pick<SourceActivities, 'pollOutbox' | 'markPublished'>;
  /** The poll request without `skip`. */
  request: Omit<PollOutboxRequest, 'skip'>;
  deliver: (messages: OutboundMessage[]) => Promise<DeliverResult>;
  /** Checked before each poll, with the polls so far: true stops pulling; what was polled drains. */
  shouldStop: (polled: number) => boolean;
  /** Called once per batch, in poll order, after it is delivered and marked published. */
  record: (round: OutboxRound) => void;
  stats: OutboxPipelineStats;
}

/** Runs until shouldStop() and every polled batch is marked; returns the number of batches. */
export async function runOutboxPipeline(deps: OutboxPipelineDeps): Promise<number> {
  const { source, request, stats } = deps;
  // Ranges of the batches polled and not yet marked, oldest first.
  const unmarked: OutboxRange[] = [];
  let batches = 0;
  // A failed stage never marks its batch: the source must not wait for room that never comes.
  let failed = false;
  const noting =
    <I, O>(fn: (item: I) => Promise<O>) =>
    async (item: I): Promise<O> => {
      try {
        return await fn(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    };

  async function* polls(): AsyncGenerator<PollOutboxResult> {
    for (;;) {
      await condition(() => failed || unmarked.length < MAX_UNMARKED);
      if (failed || deps.shouldStop(batches)) return;
      stats.polls++;
      if (unmarked.length > 0) stats.pollsAhead++;
      const batch = await source.pollOutbox({ ...request, skip: [...unmarked] });
      if (batch.range) {
        unmarked.push(batch.range);
        stats.maxUnmarked = Math.max(stats.maxUnmarked, unmarked.length);
      }
      batches++;
      yield batch;
    }
  }

  await Pipeline.from(polls(), { buffer: 1 })
    .stage(
      'deliver',
      noting(async (batch: PollOutboxResult) => ({ batch, delivered: await deps.deliver(batch.messages) })),
      {
        concurrency: 1,
        buffer: 1,
      },
    )
    .stage(
      'markPublished',
      noting(async (round: OutboxRound) => {
        if (round.batch.ids.length > 0) await source.markPublished({ table: request.table, ids: round.batch.ids });
        // Batches are marked in poll order, so this one's range is the oldest.
        if (round.batch.range) unmarked.shift();
        return round;
      }),
      { concurrency: 1, buffer: 1 },
    )
    .run((round) => deps.record(round));
  return batches;
}
