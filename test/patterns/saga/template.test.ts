// Declarative templates: whole references keep their type, embedded ones become text, bytes
// helpers, and errors that name the missing path.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { idempotencyKey, render, templateReferences, TemplateError } from '../../../src/workflows/saga/template';

const scope = { input: { orderId: 'o-1', qty: 3, nested: { a: [1, 2] } }, steps: { reserve: { result: { now: 7 } } } };

describe('saga templates', () => {
  it('renders whole references with their type and embedded ones as text', () => {
    assert.equal(render('${input.qty}', scope), 3);
    assert.equal(render('order:${input.orderId}:${steps.reserve.result.now}', scope), 'order:o-1:7');
    assert.deepEqual(render(['${input.nested}', { k: '${input.orderId}' }], scope), [{ a: [1, 2] }, { k: 'o-1' }]);
  });

  it('turns $utf8 and $json into bytes', () => {
    assert.deepEqual(render({ $utf8: 'id=${input.orderId}' }, scope), new TextEncoder().encode('id=o-1'));
    assert.deepEqual(render({ $json: { n: '${input.qty}' } }, scope), new TextEncoder().encode('{"n":3}'));
  });

  it('names the missing path', () => {
    assert.throws(
      () => render('${input.missing}', scope),
      (e: Error) => e instanceof TemplateError && /input\.missing.*"missing"/.test(e.message),
    );
  });

  it('lists references', () => {
    assert.deepEqual(templateReferences(['${a.b}', { x: 'p ${c} q ${ d.e }' }, 4]), ['a.b', 'c', 'd.e']);
  });

  it('builds idempotency keys from saga id and step, by default and by template', () => {
    assert.equal(idempotencyKey(undefined, { sagaId: 'wf-1', step: 'charge' }), 'wf-1:charge');
    assert.equal(
      idempotencyKey('${input.orderId}/${step}', { sagaId: 'wf-1', step: 'charge', input: { orderId: 'o9' } }),
      'o9/charge',
    );
  });
});
