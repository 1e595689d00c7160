// The deliver activity on the `sink` slot's backend: every message of a batch, in order per
// (topic, key), different keys concurrently, a truncate alone between what comes before and after
// it; it resolves only once the sink accepted them all, and the workflow confirms the source
// position only after that. It heartbeats the ids accepted so far,
// and a retry resumes from the heartbeat details instead of sending them again.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Headers, PubSubBasic, StreamBasic } from '../../drivers/capabilities';
import type { PatternActivityContext } from '../../sdk/pattern';
import {
  CDC_CONFIG_ERROR,
  type CdcSinkActivities,
  type DeliverProgress,
  type DeliverRequest,
  type DeliverResult,
} from '../../workflows/cdc/activities';
import type { OutboundMessage } from '../../workflows/cdc/events';
import { lagSecondsOf } from '../../workflows/cdc/status';
import { produceDirect } from './kafka-direct';
import { cdcMetrics } from './metrics';
import type { CdcSettings } from './settings';

/** Message headers: consumers dedupe by cdc-id and may partition by cdc-key. */
export const CDC_HEADERS = { id: 'cdc-id', key: 'cdc-key', op: 'cdc-op', table: 'cdc-table' } as const;

type Send = (message: OutboundMessage) => Promise<unknown>;

export const cdcHeaders = (m: OutboundMessage): Headers => ({
  [CDC_HEADERS.id]: m.id,
  [CDC_HEADERS.key]: m.key,
  [CDC_HEADERS.op]: m.op,
  [CDC_HEADERS.table]: m.table,
});

function sender(sink: Partial<PubSubBasic & StreamBasic>, mode: DeliverRequest['mode'], backend: string): Send {
  const bytes = (m: OutboundMessage): Uint8Array => new Uint8Array(Buffer.from(JSON.stringify(m.body), 'utf8'));
  if (mode === 'pubsub' && typeof sink.publish === 'function') {
    const publish = sink.publish.bind(sink);
    return (m) => publish(m.topic, bytes(m), cdcHeaders(m));
  }
  if (mode === 'stream' && typeof sink.append === 'function') {
    const append = sink.append.bind(sink);
    return (m) => append(m.topic, bytes(m), cdcHeaders(m));
  }
  throw ApplicationFailure.nonRetryable(
    `sink backend "${backend}" cannot ${mode === 'pubsub' ? 'publish (pubsub_basic)' : 'append (stream_basic)'}`,
    CDC_CONFIG_ERROR,
  );
}

/**
 * Splits a batch at table-wide events (truncates): each is sent alone, after every message before
 * it was accepted and before any message after it, so a consumer sees it between the rows around
 * it whatever their keys. Between them, chains of different keys go concurrently.
 */
export function roundsOf(messages: readonly OutboundMessage[]): OutboundMessage[][] {
  const rounds: OutboundMessage[][] = [[]];
  for (const m of messages) {
    if (m.op === 't') rounds.push([m], []);
    else rounds.at(-1)!.push(m);
  }
  return rounds.filter((round) => round.length > 0);
}

/** Groups messages into per-(topic, key) chains, each in batch order. */
export function chainsOf(messages: readonly OutboundMessage[]): OutboundMessage[][] {
  const chains = new Map<string, OutboundMessage[]>();
  for (const m of messages) {
    const id = `${m.topic}\u0000${m.key}`;
    const chain = chains.get(id);
    if (chain) chain.push(m);
    else chains.set(id, [m]);
  }
  return [...chains.values()];
}

export function cdcSinkActivities(driver: unknown, context: PatternActivityContext<CdcSettings>): CdcSinkActivities {
  const sink = driver as Partial<PubSubBasic & StreamBasic>;
  return {
    async deliver(request: DeliverRequest): Promise<DeliverResult> {
      const direct = context.settings.kafkaDirect;
      if (direct && request.mode === 'pubsub') {
        await produceDirect(direct, request.messages, cdcHeaders);
        for (const m of request.messages) countEvent(request.pipeline, m);
        return finish(request, request.messages.length, 0);
      }
      const send = sender(sink, request.mode, context.backend);
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
      const sendChains = async (chains: OutboundMessage[][]): Promise<void> => {
        let next = 0;
        const worker = async (): Promise<void> => {
          while (next < chains.length) {
            const chain = chains[next++]!;
            for (const message of chain) {
              ctx.cancellationSignal.throwIfAborted();
              await send(message);
              accepted.push(message.id);
              countEvent(request.pipeline, message);
              beat();
            }
          }
        };
        await Promise.all(Array.from({ length: Math.min(context.settings.deliverConcurrency, chains.length) }, worker));
      };
      try {
        for (const round of roundsOf(pending)) await sendChains(chainsOf(round));
      } finally {
        beat(true);
      }
      return finish(request, pending.length, request.messages.length - pending.length);
    },
  };
}

export function countEvent(pipeline: string, m: OutboundMessage): void {
  cdcMetrics.events.inc({ pipeline, table: m.table, op: m.op });
}

function finish(request: DeliverRequest, delivered: number, resumed: number): DeliverResult {
  const lagSeconds = lagSecondsOf(
    request.messages.map((m) => m.committedAt),
    Date.now(),
  );
  cdcMetrics.lagSeconds.set({ pipeline: request.pipeline }, lagSeconds);
  return { delivered, resumed, lagSeconds };
}
