// The pipeline stages between reading a change and delivering it: filter (tables, operations) →
// transform (rename, drop, mask fields) → route (a topic per table). Pure and deterministic.
import type { ChangeOp, RowChange } from '../../drivers/capabilities';
import { buildEvent, messageKey, type CdcEvent, type OutboundMessage } from './events';
import type { TransformSpec } from './input';

export const MASK = '***';

export interface PipelineSpec {
  db: string;
  filter: { tables?: string[]; operations?: ChangeOp[] };
  transforms: TransformSpec[];
  topicPrefix: string;
  /** "schema.table" → topic. */
  topics: Record<string, string>;
}

/** Matches "schema.table", "table" (any schema), "schema.*" and "*". */
export function tableMatches(pattern: string, schema: string, table: string): boolean {
  if (pattern === '*') return true;
  const dot = pattern.indexOf('.');
  if (dot < 0) return pattern === table;
  const [s, t] = [pattern.slice(0, dot), pattern.slice(dot + 1)];
  return s === schema && (t === '*' || t === table);
}

function anyTableMatches(patterns: readonly string[] | undefined, schema: string, table: string): boolean {
  return patterns === undefined || patterns.some((p) => tableMatches(p, schema, table));
}

/**
 * Table and operation filters apply to truncates ('t') like to rows: a pipeline that lists
 * operations without 't' leaves them out. No rule looks inside a row, and a truncate has none.
 */
export function keepChange(
  change: Pick<RowChange, 'op' | 'schema' | 'table'>,
  filter: PipelineSpec['filter'],
): boolean {
  if (filter.operations && !filter.operations.includes(change.op)) return false;
  return anyTableMatches(filter.tables, change.schema, change.table);
}

/** One row through one transform: renamed, then dropped and masked (by old or new name). */
export function transformRow(
  row: Record<string, unknown> | null,
  spec: Pick<TransformSpec, 'rename' | 'drop' | 'mask'>,
): Record<string, unknown> | null {
  if (row === null) return null;
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(row)) {
    const name = spec.rename[field] ?? field;
    if (spec.drop.includes(field) || spec.drop.includes(name)) continue;
    out[name] = spec.mask.includes(field) || spec.mask.includes(name) ? MASK : value;
  }
  return out;
}

function renameOnly(row: Record<string, unknown>, rename: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(row)) out[rename[field] ?? field] = value;
  return out;
}

/**
 * Applies every transform whose tables match, in order. Keys are renamed, never dropped or masked.
 * A truncate has no row and an empty key: it passes through unchanged.
 */
export function transformEvent(event: CdcEvent, transforms: readonly TransformSpec[]): CdcEvent {
  let result = event;
  for (const t of transforms) {
    if (!anyTableMatches(t.tables, event.source.schema, event.source.table)) continue;
    result = {
      ...result,
      key: renameOnly(result.key, t.rename),
      before: transformRow(result.before, t),
      after: transformRow(result.after, t),
    };
  }
  return result;
}

/** topics["schema.table"] (or topics["table"]), else `<prefix>.<schema>.<table>`. */
export function topicFor(schema: string, table: string, spec: Pick<PipelineSpec, 'topicPrefix' | 'topics'>): string {
  return spec.topics[`${schema}.${table}`] ?? spec.topics[table] ?? `${spec.topicPrefix}.${schema}.${table}`;
}

/** Changes in commit order → messages in the same order, filtered, transformed and routed. */
export function runPipeline(changes: readonly RowChange[], spec: PipelineSpec): OutboundMessage[] {
  const messages: OutboundMessage[] = [];
  for (const change of changes) {
    if (!keepChange(change, spec.filter)) continue;
    const event = transformEvent(buildEvent(change, spec.db), spec.transforms);
    messages.push({
      id: event.id,
      topic: topicFor(change.schema, change.table, spec),
      // The key from the original columns' values, under the renamed names.
      key: messageKey(event.key),
      op: event.op,
      table: `${change.schema}.${change.table}`,
      body: event,
      committedAt: change.commitTime,
    });
  }
  return messages;
}

/**
 * Keeps a batch under a payload budget (a batch travels through history twice, and one payload may
 * not exceed 2 MB). Returns the messages that fit (at least one), and when some were cut, the
 * position that covers exactly those ("<commit LSN>#<sequence>": a point inside a transaction,
 * which the cdc_source driver resumes after) and how many changes that covers.
 */
export function cutToBudget(
  changes: readonly RowChange[],
  messages: readonly OutboundMessage[],
  budgetBytes: number,
): { messages: OutboundMessage[]; position: string | null; changesCovered: number } | null {
  let bytes = 0;
  let keep = 0;
  for (const m of messages) {
    bytes += JSON.stringify(m.body).length + m.topic.length + m.key.length + 64;
    if (bytes > budgetBytes && keep > 0) break;
    keep++;
  }
  if (keep === messages.length) return null;
  const last = messages[keep - 1]!.body as CdcEvent;
  const index = changes.findIndex((c) => c.lsn === last.source.lsn && c.sequence === last.source.sequence);
  return {
    messages: messages.slice(0, keep),
    position: `${last.source.lsn}#${last.source.sequence}`,
    changesCovered: index + 1,
  };
}
