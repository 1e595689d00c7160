// Delivery of a batch of CDC messages to a sink, shared by the deliver activity (batches that
// travel through history: snapshots, outbox, older runs) and the streaming pump (batches that
// never leave the worker). Every message of a batch goes out in order per (topic, key), a truncate
// alone between what comes before and after it; it resolves only once the sink accepted them all.
// A sink whose driver offers pubsub_batch gets each part between truncates in one publishBatch
// call (Kafka: one produce request, the message key as the record key, the event id as the message
// id); otherwise one publish/append per message, different keys concurrently.
//
// A record is its body and nothing else of the pattern's own (docs/cdc.md): the event id, op, table
// and key are in the body, and the event id is the message id where the sink takes one. Headers
// repeating them cost every record (kafkajs encodes each header into a buffer of its own and
// checksums the batch byte by byte) for nothing a consumer cannot read already.
import { ApplicationFailure } from '@temporalio/common';
import type { Capability, PubSubBasic, PubSubBatch, StreamBasic } from '../../drivers/capabilities';
import { MAX_BATCH_KEYS } from '../../drivers/limits';
import { CDC_CONFIG_ERROR, type DeliverRequest } from '../../workflows/cdc/activity-io';
import type { OutboundMessage } from '../../workflows/cdc/events';
import { cdcMetrics } from './metrics';

/** A message whose body may already be serialised (the pump does it while earlier batches are with the sink). */
export type SinkMessage = OutboundMessage & { encoded?: Uint8Array };

/**
 * Serialises the message's body as the sink receives it, on the message itself (no copy of it), and
 * lets go of the body object: only its bytes are sent, and a batch waits for the sink a while, so
 * thousands of event objects would otherwise outlive the young generation for nothing.
 */
export function encodeMessage(m: SinkMessage): SinkMessage & { encoded: Uint8Array } {
  if (m.encoded === undefined) {
    m.encoded = Buffer.from(JSON.stringify(m.body), 'utf8');
    m.body = null;
  }
  return m as SinkMessage & { encoded: Uint8Array };
}

const bodyBytes = (m: SinkMessage): Uint8Array => m.encoded ?? Buffer.from(JSON.stringify(m.body), 'utf8');

/** A sink as delivery needs it: a driver, or a guarded handle on one. */
export type DeliverySink = { readonly capabilities: ReadonlySet<Capability> } & Partial<
  PubSubBasic & StreamBasic & PubSubBatch
>;

export interface Delivery {
  sink: DeliverySink;
  /** The sink backend's name, for errors. */
  backend: string;
  mode: DeliverRequest['mode'];
  pipeline: string;
  /** Keys sent at once without pubsub_batch. */
  concurrency: number;
  signal: AbortSignal;
  /** Called with the ids the sink accepted, as it accepts them. */
  accepted: (ids: string[]) => void;
}

type Send = (message: SinkMessage) => Promise<unknown>;

function sender(delivery: Delivery): Send {
  const { sink, mode } = delivery;
  if (mode === 'pubsub' && typeof sink.publish === 'function') {
    const publish = sink.publish.bind(sink);
    return (m) => publish(m.topic, bodyBytes(m));
  }
  if (mode === 'stream' && typeof sink.append === 'function') {
    const append = sink.append.bind(sink);
    return (m) => append(m.topic, bodyBytes(m));
  }
  throw ApplicationFailure.nonRetryable(
    `sink backend "${delivery.backend}" cannot ${mode === 'pubsub' ? 'publish (pubsub_basic)' : 'append (stream_basic)'}`,
    CDC_CONFIG_ERROR,
  );
}

/**
 * Splits a batch at table-wide events (truncates): each is sent alone, after every message before
 * it was accepted and before any message after it, so a consumer sees it between the rows around
 * it whatever their keys. Between them, chains of different keys go concurrently.
 */
export function roundsOf<M extends OutboundMessage>(messages: readonly M[]): M[][] {
  const rounds: M[][] = [[]];
  for (const m of messages) {
    if (m.op === 't') rounds.push([m], []);
    else rounds.at(-1)!.push(m);
  }
  return rounds.filter((round) => round.length > 0);
}

/** Groups messages into per-(topic, key) chains, each in batch order. */
export function chainsOf<M extends OutboundMessage>(messages: readonly M[]): M[][] {
  const chains = new Map<string, M[]>();
  for (const m of messages) {
    const id = `${m.topic}\u0000${m.key}`;
    const chain = chains.get(id);
    if (chain) chain.push(m);
    else chains.set(id, [m]);
  }
  return [...chains.values()];
}

export function countEvent(pipeline: string, m: OutboundMessage): void {
  cdcMetrics.events.inc({ pipeline, table: m.table, op: m.op });
}

/** countEvent for every message, one counter update per (table, op) rather than per message. */
function countEvents(pipeline: string, messages: readonly OutboundMessage[]): void {
  const counts = new Map<string, { table: string; op: string; n: number }>();
  for (const m of messages) {
    const id = `${m.table}\u0000${m.op}`;
    const count = counts.get(id);
    if (count) count.n++;
    else counts.set(id, { table: m.table, op: m.op, n: 1 });
  }
  for (const { table, op, n } of counts.values()) cdcMetrics.events.inc({ pipeline, table, op }, n);
}

/** Sends every message; resolves once the sink accepted all of them, throws on the first failure. */
export async function deliverMessages(delivery: Delivery, messages: readonly SinkMessage[]): Promise<void> {
  const { sink, signal, pipeline } = delivery;
  let sendRound: (round: SinkMessage[]) => Promise<void>;
  const publishBatch = sink.publishBatch;
  if (delivery.mode === 'pubsub' && sink.capabilities.has('pubsub_batch') && typeof publishBatch === 'function') {
    // One call per round (at most MAX_BATCH_KEYS messages a call).
    sendRound = async (round) => {
      for (let i = 0; i < round.length; i += MAX_BATCH_KEYS) {
        signal.throwIfAborted();
        const part = round.slice(i, i + MAX_BATCH_KEYS);
        await publishBatch.call(
          sink,
          part.map((m) => ({ topic: m.topic, key: m.key, value: bodyBytes(m), id: m.id })),
        );
        delivery.accepted(part.map((m) => m.id));
        countEvents(pipeline, part);
      }
    };
  } else {
    const send = sender(delivery);
    sendRound = async (round) => {
      const chains = chainsOf(round);
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < chains.length) {
          const chain = chains[next++]!;
          for (const message of chain) {
            signal.throwIfAborted();
            await send(message);
            delivery.accepted([message.id]);
            countEvent(pipeline, message);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(delivery.concurrency, chains.length) }, worker));
    };
  }
  for (const round of roundsOf(messages)) await sendRound(round);
}
