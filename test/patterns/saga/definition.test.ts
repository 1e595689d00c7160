// Declarative saga validation: the shipped example is valid, and every kind of bad definition is
// refused with a problem naming the field.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { validateDefinition } from '../../../src/workflows/saga/definition';

const EXAMPLES = resolve(__dirname, '../../../../examples/saga');
const example = (): Record<string, unknown> => parse(readFileSync(`${EXAMPLES}/order.yaml`, 'utf8'));
const exampleInput = (): Record<string, unknown> => JSON.parse(readFileSync(`${EXAMPLES}/order-input.json`, 'utf8'));

const step = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  name,
  slot: 'orders',
  op: 'keyvalue_basic.set',
  args: ['k:${input.id}', { $utf8: 'v' }],
  ...extra,
});

function problems(definition: unknown, input: unknown = { id: 'x' }): string {
  const result = validateDefinition(definition, input);
  assert.equal(result.saga, undefined, 'expected the definition to be refused');
  return result.problems.join('\n');
}

describe('declarative saga definitions', () => {
  it('accepts the shipped order example with its input', () => {
    const result = validateDefinition(example(), exampleInput());
    assert.deepEqual(result.problems, []);
    assert.deepEqual(
      result.saga?.stages.map((stage) => stage.map((s) => s.name)),
      [['reserve'], ['charge', 'record'], ['publish'], ['cache']],
    );
  });

  it('refuses an unknown slot, naming the field and the known slots', () => {
    const p = problems({ name: 'x', steps: [step('a', { slot: 'ledger' })] });
    assert.match(p, /definition\.steps\[0\]\.slot: unknown slot "ledger" \(slots: orders, events, cache\)/);
  });

  it('refuses an unknown operation, and a capability the slot does not have', () => {
    assert.match(
      problems({ name: 'x', steps: [step('a', { op: 'keyvalue_basic.upsert' })] }),
      /definition\.steps\[0\]\.op: unknown operation "keyvalue_basic\.upsert" for slot "orders"/,
    );
    assert.match(
      problems({ name: 'x', steps: [step('a', { slot: 'events', op: 'keyvalue_basic.set' })] }),
      /steps\[0\]\.op: unknown operation "keyvalue_basic\.set" for slot "events" \(known: pubsub_basic\.publish, publishEvent\)/,
    );
    assert.match(
      problems({ name: 'x', steps: [step('a', { compensate: { slot: 'orders', op: 'undo' } })] }),
      /steps\[0\]\.compensate\.op: unknown operation "undo"/,
    );
  });

  it('refuses a template referring to a missing input value or step', () => {
    assert.match(
      problems({ name: 'x', steps: [step('a', { args: ['${input.orderId}'] })] }),
      /steps\[0\]\.args: \$\{input\.orderId\} refers to a missing value: the saga input has no orderId/,
    );
    assert.match(
      problems({ name: 'x', steps: [step('a'), step('b', { args: ['${steps.nope.result}'] })] }),
      /steps\[1\]\.args: \$\{steps\.nope\.result\} refers to a missing value: there is no step "nope"/,
    );
    assert.match(
      problems({ name: 'x', steps: [step('a', { args: ['${order.id}'] })] }),
      /steps\[0\]\.args: \$\{order\.id\} refers to "order"/,
    );
  });

  it('refuses cycles: a step using its own, a sibling’s or a later step’s result', () => {
    assert.match(
      problems({
        name: 'x',
        steps: [step('a', { args: ['${steps.b.result.v}'] }), step('b', { args: ['${steps.a.result.v}'] })],
      }),
      /steps\[0\]\.args: \$\{steps\.b\.result\.v\} refers to step "b", which does not complete before it \(a cycle\)/,
    );
    assert.match(
      problems({ name: 'x', steps: [step('a', { args: ['${steps.a.result}'] })] }),
      /refers to step "a", which does not complete before it/,
    );
    assert.match(
      problems({ name: 'x', steps: [{ parallel: [step('a'), step('b', { args: ['${steps.a.result}'] })] }] }),
      /steps\[0\]\.parallel\[1\]\.args: .* refers to step "a", which does not complete before it/,
    );
  });

  it('lets a compensation use its own step’s result', () => {
    const ok = validateDefinition(
      {
        name: 'x',
        steps: [
          step('a', { compensate: { slot: 'orders', op: 'keyvalue_basic.delete', args: ['${steps.a.result}'] } }),
        ],
      },
      { id: 'x' },
    );
    assert.deepEqual(ok.problems, []);
  });

  it('refuses duplicate step names', () => {
    assert.match(
      problems({ name: 'x', steps: [step('a'), step('a')] }),
      /definition\.steps\[1\] "a": duplicate step name/,
    );
  });

  it('refuses schema errors naming the field: missing op, bad duration, unknown key, empty steps', () => {
    assert.match(problems({ name: 'x', steps: [{ name: 'a', slot: 'orders' }] }), /definition\.steps\[0\]\.op/);
    assert.match(problems({ name: 'x', steps: [step('a', { timeout: 'soon' })] }), /definition\.steps\[0\]\.timeout/);
    assert.match(problems({ name: 'x', steps: [step('a', { retries: 3 })] }), /definition\.steps\[0\]: .*retries/);
    assert.match(problems({ name: 'x', steps: [] }), /definition\.steps/);
    assert.match(problems('not an object'), /^definition/);
  });
});
