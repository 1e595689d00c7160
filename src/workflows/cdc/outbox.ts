// Transactional outbox rows as messages: the topic comes from the aggregate type, the key is the
// aggregate id (so one aggregate's events stay in order), the id is stable per row.
import type { OutboxEntry } from '../../drivers/capabilities';
import type { OutboundMessage } from './events';

/** An outbox row as outbox_source returns it (its position is not needed here). */
export type OutboxRow = Omit<OutboxEntry, 'position'>;

export interface OutboxEvent {
  id: string;
  aggregateType: string;
  aggregateId: string;
  eventType: string;
  payload: unknown;
  ts_ms: number;
}

export function outboxTopic(aggregateType: string, spec: { topicPrefix: string; topics: Record<string, string> }) {
  return spec.topics[aggregateType] ?? `${spec.topicPrefix}.${aggregateType}`;
}

export function outboxMessage(
  row: OutboxRow,
  table: string,
  spec: { topicPrefix: string; topics: Record<string, string> },
): OutboundMessage {
  const id = `outbox:${table}:${row.id}`;
  const ts = Date.parse(row.createdAt);
  const body: OutboxEvent = {
    id,
    aggregateType: row.aggregateType,
    aggregateId: row.aggregateId,
    eventType: row.eventType,
    payload: row.payload,
    ts_ms: Number.isFinite(ts) ? ts : 0,
  };
  return {
    id,
    topic: outboxTopic(row.aggregateType, spec),
    key: row.aggregateId,
    op: row.eventType,
    table,
    body,
    committedAt: row.createdAt,
  };
}
