// The deliver activity on the `sink` slot's backend (so it runs under that backend's breaker and
// bulkhead), for batches that travel through history: snapshot chunks, outbox batches and runs
// from before streaming. It resolves only once the sink accepted every message (deliver.ts), and
// the workflow confirms the source position only after that. It heartbeats the ids accepted so
// far, and a retry resumes from there instead of sending them again.
import { Context } from '@temporalio/activity';
import type { DriverBase } from '../../drivers/driver';
import type { PatternActivityContext } from '../../sdk/pattern';
import type { DeliverProgress, DeliverRequest, DeliverResult } from '../../workflows/cdc/activity-io';
import { lagSecondsOf } from '../../workflows/cdc/logic';
import { deliverMessages, type DeliverySink } from './deliver';
import { cdcMetrics } from './metrics';
import type { CdcSettings } from '../../workflows/cdc/settings';

export { chainsOf, countEvent, roundsOf } from './deliver';

/** The workflow's view of these activities: its proxies are typed from this factory. */
export type SinkActivities = ReturnType<typeof sinkActivities>;

export function sinkActivities(driver: unknown, context: PatternActivityContext<CdcSettings>) {
  const sink = driver as DriverBase & DeliverySink;
  return {
    /** Publishes every message, in order per (topic, key); resolves once the sink accepted all. */
    async deliver(request: DeliverRequest): Promise<DeliverResult> {
      const ctx = Context.current();
      const before = (ctx.info.heartbeatDetails as DeliverProgress | undefined)?.delivered ?? [];
      const done = new Set(before);
      const pending = request.messages.filter((m) => !done.has(m.id));
      const accepted: string[] = [...done];
      let lastBeat = 0;
      const beat = (force = false): void => {
        if (force || Date.now() - lastBeat > 1_000) {
          lastBeat = Date.now();
          ctx.heartbeat({ delivered: accepted } satisfies DeliverProgress);
        }
      };
      // A slow broker must not look like a dead worker: beat while a call waits.
      const timer = setInterval(() => beat(), 1_000);
      try {
        await deliverMessages(
          {
            sink,
            backend: context.backend,
            mode: request.mode,
            pipeline: request.pipeline,
            concurrency: context.settings.deliverConcurrency,
            signal: ctx.cancellationSignal,
            accepted: (ids) => {
              accepted.push(...ids);
              beat();
            },
          },
          pending,
        );
      } finally {
        clearInterval(timer);
        beat(true);
      }
      return finish(request, pending.length, request.messages.length - pending.length);
    },
  };
}

function finish(request: DeliverRequest, delivered: number, resumed: number): DeliverResult {
  const lagSeconds = lagSecondsOf(
    request.messages.map((m) => m.committedAt),
    Date.now(),
  );
  cdcMetrics.lagSeconds.set({ pipeline: request.pipeline }, lagSeconds);
  return { delivered, resumed, lagSeconds };
}
