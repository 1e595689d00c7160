// Pure pipeline stages: event building, filter, transform, topic routing, per-key chains, input.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RowChange } from '../../../src/drivers/capabilities';
import { chainsOf } from '../../../src/activities/cdc/sink-activities';
import { buildEvent, eventId, messageKey, type CdcEvent } from '../../../src/workflows/cdc/events';
import { cdcPipelineInput, removedInLogicalMode } from '../../../src/workflows/cdc/input';
import { outboxMessage } from '../../../src/workflows/cdc/outbox';
import {
  cutToBudget,
  keepChange,
  MASK,
  runPipeline,
  tableMatches,
  topicFor,
  transformEvent,
  transformRow,
  type PipelineSpec,
} from '../../../src/workflows/cdc/pipeline';

function change(overrides: Partial<RowChange> = {}): RowChange {
  return {
    op: 'u',
    schema: 'public',
    table: 'customers',
    lsn: '0/16B3748',
    txId: 42,
    sequence: 2,
    before: { id: 7, email: 'a@x.org', name: 'Ann', ssn: '123' },
    after: { id: 7, email: 'b@x.org', name: 'Ann', ssn: '123' },
    key: { id: 7 },
    commitTime: '2026-01-02T03:04:05.678Z',
    ...overrides,
  };
}

const spec = (overrides: Partial<PipelineSpec> = {}): PipelineSpec => ({
  db: 'shop',
  filter: {},
  transforms: [],
  topicPrefix: 'cdc',
  topics: {},
  ...overrides,
});

describe('cdc events', () => {
  it('builds a Debezium-style event with a stable id from LSN and sequence', () => {
    const event = buildEvent(change(), 'shop');
    assert.deepEqual(event, {
      id: '0/16B3748:2',
      op: 'u',
      source: {
        db: 'shop',
        schema: 'public',
        table: 'customers',
        lsn: '0/16B3748',
        txId: 42,
        sequence: 2,
        ts_ms: Date.parse('2026-01-02T03:04:05.678Z'),
      },
      key: { id: 7 },
      before: change().before,
      after: change().after,
      ts_ms: Date.parse('2026-01-02T03:04:05.678Z'),
    } satisfies CdcEvent);
    // Reading the same change again gives the same event, byte for byte.
    assert.equal(JSON.stringify(buildEvent(change(), 'shop')), JSON.stringify(event));
    assert.equal(eventId('0/1', 1), '0/1:1');
    assert.notEqual(eventId('0/1', 1), eventId('0/1', 2));
  });

  it('keys messages by the primary key columns in order', () => {
    assert.equal(messageKey({ tenant: 'a', id: 3 }), '{"tenant":"a","id":3}');
  });
});

describe('cdc filter', () => {
  it('matches schema.table, table, schema.* and *', () => {
    assert.ok(tableMatches('public.customers', 'public', 'customers'));
    assert.ok(tableMatches('customers', 'sales', 'customers'));
    assert.ok(tableMatches('sales.*', 'sales', 'orders'));
    assert.ok(tableMatches('*', 'x', 'y'));
    assert.ok(!tableMatches('public.customers', 'sales', 'customers'));
    assert.ok(!tableMatches('sales.*', 'public', 'orders'));
    assert.ok(!tableMatches('orders', 'public', 'customers'));
  });

  it('keeps changes by table and operation', () => {
    assert.ok(keepChange(change(), {}));
    assert.ok(keepChange(change(), { tables: ['public.customers'], operations: ['u'] }));
    assert.ok(!keepChange(change(), { operations: ['c', 'd'] }));
    assert.ok(!keepChange(change(), { tables: ['orders'] }));
  });
});

describe('cdc transform', () => {
  it('renames, drops and masks fields of a row', () => {
    const row = { id: 1, email: 'a@x.org', ssn: '123', note: 'n' };
    assert.deepEqual(transformRow(row, { rename: { email: 'mail' }, drop: ['note'], mask: ['ssn'] }), {
      id: 1,
      mail: 'a@x.org',
      ssn: MASK,
    });
    // Drop and mask also match the new name.
    assert.deepEqual(transformRow(row, { rename: { ssn: 'tax_id' }, drop: [], mask: ['tax_id'] }), {
      id: 1,
      email: 'a@x.org',
      tax_id: MASK,
      note: 'n',
    });
    assert.equal(transformRow(null, { rename: {}, drop: ['x'], mask: [] }), null);
  });

  it('applies matching transforms in order to before, after and (renamed only) the key', () => {
    const event = buildEvent(change(), 'shop');
    const out = transformEvent(event, [
      { tables: ['public.customers'], rename: { id: 'customer_id' }, drop: ['name'], mask: [] },
      { tables: ['orders'], rename: {}, drop: ['email'], mask: [] },
      { rename: {}, drop: [], mask: ['ssn', 'customer_id'] },
    ]);
    assert.deepEqual(out.key, { customer_id: 7 });
    assert.deepEqual(out.before, { customer_id: MASK, email: 'a@x.org', ssn: MASK });
    assert.deepEqual(out.after, { customer_id: MASK, email: 'b@x.org', ssn: MASK });
    assert.deepEqual(event.before, change().before, 'the input event is left as it was');
  });
});

describe('cdc routing and pipeline', () => {
  it('names a topic per table: override, then <prefix>.<schema>.<table>', () => {
    assert.equal(topicFor('public', 'orders', spec()), 'cdc.public.orders');
    assert.equal(topicFor('public', 'orders', spec({ topics: { 'public.orders': 'orders-v2' } })), 'orders-v2');
    assert.equal(topicFor('sales', 'orders', spec({ topics: { orders: 'all-orders' } })), 'all-orders');
  });

  it('runs changes through filter, transform and routing in commit order', () => {
    const changes = [
      change({ op: 'c', sequence: 1, before: null, table: 'customers' }),
      change({ op: 'u', sequence: 2, table: 'audit' }),
      change({ op: 'd', sequence: 3, after: null, table: 'customers', key: { id: 8 } }),
    ];
    const out = runPipeline(
      changes,
      spec({ filter: { tables: ['customers'] }, transforms: [{ rename: {}, drop: ['ssn'], mask: [] }] }),
    );
    assert.deepEqual(
      out.map((m) => [m.id, m.topic, m.key, m.op, m.table]),
      [
        ['0/16B3748:1', 'cdc.public.customers', '{"id":7}', 'c', 'public.customers'],
        ['0/16B3748:3', 'cdc.public.customers', '{"id":8}', 'd', 'public.customers'],
      ],
    );
    const first = out[0]!.body as CdcEvent;
    assert.equal(first.before, null);
    assert.deepEqual(first.after, { id: 7, email: 'b@x.org', name: 'Ann' });
    assert.equal(out[0]!.committedAt, '2026-01-02T03:04:05.678Z');
  });

  it('groups a batch into per-(topic, key) chains that keep batch order', () => {
    const out = runPipeline(
      [
        change({ sequence: 1, key: { id: 1 } }),
        change({ sequence: 2, key: { id: 2 } }),
        change({ sequence: 3, key: { id: 1 } }),
        change({ sequence: 4, key: { id: 1 }, table: 'orders' }),
      ],
      spec(),
    );
    assert.deepEqual(
      chainsOf(out).map((chain) => chain.map((m) => m.id)),
      [['0/16B3748:1', '0/16B3748:3'], ['0/16B3748:2'], ['0/16B3748:4']],
    );
  });

  it('turns outbox rows into messages keyed by aggregate id with a stable id', () => {
    const m = outboxMessage(
      {
        id: '12',
        aggregateType: 'order',
        aggregateId: 'o-1',
        eventType: 'OrderPlaced',
        payload: { total: 5 },
        createdAt: '2026-01-01T00:00:00.000Z',
      },
      'public.outbox',
      { topicPrefix: 'shop', topics: {} },
    );
    assert.deepEqual([m.id, m.topic, m.key, m.op], ['outbox:public.outbox:12', 'shop.order', 'o-1', 'OrderPlaced']);
    assert.deepEqual((m.body as { payload: unknown }).payload, { total: 5 });
  });
});

describe('cdc input', () => {
  it('refuses logical mode without tables and fills defaults', () => {
    assert.equal(cdcPipelineInput.safeParse({ pipeline: 'p1' }).success, false);
    assert.equal(cdcPipelineInput.safeParse({ pipeline: 'Bad-Name', tables: ['t'] }).success, false);
    const parsed = cdcPipelineInput.parse({ pipeline: 'p1', tables: ['t'] });
    assert.equal(parsed.sink, 'pubsub');
    assert.equal(parsed.batchSize, 500);
    assert.ok(cdcPipelineInput.safeParse({ pipeline: 'p2', mode: 'outbox' }).success);
  });

  it('names idleWaitMs as removed for a logical-mode pipeline, and keeps it for outbox mode', () => {
    assert.match(removedInLogicalMode({ pipeline: 'p', tables: ['t'], idleWaitMs: 300 }) ?? '', /^idleWaitMs: removed/);
    assert.match(removedInLogicalMode({ pipeline: 'p', mode: 'logical', idleWaitMs: 0 }) ?? '', /no polling/);
    assert.equal(removedInLogicalMode({ pipeline: 'p', mode: 'outbox', idleWaitMs: 300 }), null);
    assert.equal(removedInLogicalMode({ pipeline: 'p', tables: ['t'] }), null);
    assert.equal(cdcPipelineInput.parse({ pipeline: 'p', tables: ['t'] }).streamRoundMs, 60_000);
    assert.equal(cdcPipelineInput.safeParse({ pipeline: 'p', tables: ['t'], streamRoundMs: 10 }).success, false);
  });
});

describe('cdc batch budget', () => {
  it('cuts a batch inside a transaction at a resumable position', () => {
    const changes = [1, 2, 3, 4].map((sequence) =>
      change({ sequence, key: { id: sequence }, after: { id: sequence, blob: 'x'.repeat(400) } }),
    );
    changes.splice(1, 0, change({ sequence: 9, table: 'skipped', lsn: '0/1' }));
    const messages = runPipeline(changes, spec({ filter: { tables: ['customers'] } }));
    assert.equal(cutToBudget(changes, messages, 1_000_000), null, 'nothing cut under budget');
    const cut = cutToBudget(changes, messages, 2_000)!;
    assert.deepEqual(
      cut.messages.map((m) => m.id),
      ['0/16B3748:1', '0/16B3748:2'],
    );
    assert.equal(cut.position, '0/16B3748#2');
    assert.equal(cut.changesCovered, 3, 'the filtered change before the cut is covered too');
    // A single message over budget is still delivered alone.
    assert.equal(cutToBudget(changes, messages, 10)!.messages.length, 1);
  });
});
