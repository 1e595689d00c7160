// The filter language, table-driven: each operator against matching and non-matching metadata,
// then invalid filters, each refused with the path of the offending part.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compileFilter,
  filterProblem,
  FilterError,
  matchesFilter,
  type Metadata,
} from '../../../src/workflows/multicast-registry/filter';

const doc: Metadata = {
  region: 'eu-west',
  tier: 3,
  canary: false,
  owner: null,
  tags: ['edge', 'gpu'],
  labels: { zone: 'b', rack: 7 },
  version: '1.10.2',
};

type Case = [name: string, filter: Record<string, unknown>, expected: boolean];

const operatorCases: Record<string, Case[]> = {
  equality: [
    ['string equal', { region: 'eu-west' }, true],
    ['string differs', { region: 'us-east' }, false],
    ['number equal', { tier: 3 }, true],
    ['boolean equal', { canary: false }, true],
    ['null equals null', { owner: null }, true],
    ['null does not equal a missing field', { missing: null }, false],
    ['array contains the scalar', { tags: 'gpu' }, true],
    ['array lacks the scalar', { tags: 'cpu' }, false],
    ['dot path', { 'labels.zone': 'b' }, true],
    ['dot path through a scalar', { 'region.x': 'b' }, false],
    ['$eq explicit', { tier: { $eq: 3 } }, true],
    ['no type coercion', { tier: '3' }, false],
    ['empty filter matches all', {}, true],
  ],
  $ne: [
    ['differs', { region: { $ne: 'us-east' } }, true],
    ['equal', { region: { $ne: 'eu-west' } }, false],
    ['missing field is not equal', { missing: { $ne: 1 } }, true],
    ['array containing it', { tags: { $ne: 'gpu' } }, false],
  ],
  $lt: [
    ['below', { tier: { $lt: 4 } }, true],
    ['equal', { tier: { $lt: 3 } }, false],
    ['string order', { region: { $lt: 'f' } }, true],
    ['type mismatch never matches', { tier: { $lt: 'z' } }, false],
    ['missing field', { missing: { $lt: 10 } }, false],
  ],
  $lte: [
    ['equal', { tier: { $lte: 3 } }, true],
    ['above', { tier: { $lte: 2 } }, false],
  ],
  $gt: [
    ['above', { tier: { $gt: 2 } }, true],
    ['equal', { tier: { $gt: 3 } }, false],
    ['nested number', { 'labels.rack': { $gt: 5 } }, true],
  ],
  $gte: [
    ['equal', { tier: { $gte: 3 } }, true],
    ['below', { tier: { $gte: 4 } }, false],
    ['range with $lt', { tier: { $gte: 1, $lt: 3 } }, false],
  ],
  $in: [
    ['listed', { region: { $in: ['us-east', 'eu-west'] } }, true],
    ['not listed', { region: { $in: ['us-east'] } }, false],
    ['empty list', { region: { $in: [] } }, false],
    ['array field overlaps', { tags: { $in: ['cpu', 'gpu'] } }, true],
    ['null in list matches null', { owner: { $in: [null] } }, true],
  ],
  $nin: [
    ['not listed', { region: { $nin: ['us-east'] } }, true],
    ['listed', { region: { $nin: ['eu-west'] } }, false],
    ['missing field', { missing: { $nin: ['x'] } }, true],
  ],
  $exists: [
    ['present', { region: { $exists: true } }, true],
    ['present but null', { owner: { $exists: true } }, true],
    ['absent', { missing: { $exists: true } }, false],
    ['absent, asked absent', { missing: { $exists: false } }, true],
    ['nested absent', { 'labels.row': { $exists: false } }, true],
  ],
  $startsWith: [
    ['prefix', { region: { $startsWith: 'eu-' } }, true],
    ['not a prefix', { region: { $startsWith: 'west' } }, false],
    ['non-string field', { tier: { $startsWith: '3' } }, false],
  ],
  $endsWith: [
    ['suffix', { region: { $endsWith: '-west' } }, true],
    ['not a suffix', { region: { $endsWith: 'eu' } }, false],
  ],
  $contains: [
    ['substring', { version: { $contains: '.10.' } }, true],
    ['not a substring', { version: { $contains: '.11.' } }, false],
    ['array element', { tags: { $contains: 'edge' } }, true],
    ['array without it', { tags: { $contains: 'edg' } }, false],
  ],
  $and: [
    ['both hold', { $and: [{ region: 'eu-west' }, { tier: 3 }] }, true],
    ['one fails', { $and: [{ region: 'eu-west' }, { tier: 4 }] }, false],
    ['with sibling fields', { canary: false, $and: [{ tier: { $gt: 1 } }] }, true],
  ],
  $or: [
    ['one holds', { $or: [{ region: 'us-east' }, { tier: 3 }] }, true],
    ['none holds', { $or: [{ region: 'us-east' }, { tier: 4 }] }, false],
    ['nested in $and', { $and: [{ $or: [{ tier: 1 }, { 'labels.zone': 'b' }] }, { canary: false }] }, true],
  ],
  $not: [
    ['negates a filter', { $not: { region: 'us-east' } }, true],
    ['negates a match', { $not: { region: 'eu-west' } }, false],
    ['field-level', { tier: { $not: { $gt: 5 } } }, true],
    ['field-level negating a match', { tier: { $not: { $gte: 3 } } }, false],
  ],
};

describe('filter operators', () => {
  for (const [operator, cases] of Object.entries(operatorCases)) {
    describe(operator, () => {
      for (const [name, filter, expected] of cases) {
        it(`${name}: ${JSON.stringify(filter)} → ${expected}`, () => {
          assert.equal(matchesFilter(filter, doc), expected);
        });
      }
    });
  }
});

const invalidCases: [name: string, filter: unknown, path: string, reason: RegExp][] = [
  ['not an object', ['a'], 'filter', /expected a filter object, got an array/],
  ['unknown field operator', { region: { $regex: 'eu' } }, 'filter.region.$regex', /unknown operator "\$regex"/],
  ['unknown logical operator', { $nor: [] }, 'filter.$nor', /unknown logical operator/],
  [
    '$in not an array',
    { $and: [{ tier: 1 }, { region: { $in: 'eu' } }] },
    'filter.$and[1].region.$in',
    /expected an array/,
  ],
  ['$in element not a scalar', { region: { $in: ['a', { b: 1 }] } }, 'filter.region.$in[1]', /expected a scalar/],
  ['$lt with a boolean', { tier: { $lt: true } }, 'filter.tier.$lt', /expected a number or a string/],
  ['$exists not boolean', { tier: { $exists: 1 } }, 'filter.tier.$exists', /expected true or false/],
  ['$startsWith not a string', { region: { $startsWith: 1 } }, 'filter.region.$startsWith', /expected a string/],
  ['$and not an array', { $and: { tier: 1 } }, 'filter.$and', /expected an array of filters/],
  ['$and empty', { $and: [] }, 'filter.$and', /at least one filter/],
  ['$or element not an object', { $or: [{ tier: 1 }, 3] }, 'filter.$or[1]', /expected a filter object, got a number/],
  ['$not not an object', { $not: [] }, 'filter.$not', /expected a filter object/],
  ['object as a value', { labels: { zone: 'b' } }, 'filter.labels', /use a dot path, e\.g\. "labels\.zone"/],
  ['array as a value', { tags: ['a'] }, 'filter.tags', /expected a scalar or an operator object, got an array/],
  ['empty operator object', { tier: {} }, 'filter.tier', /at least one operator/],
  ['empty path segment', { 'labels..zone': 1 }, 'filter.labels..zone', /non-empty dot path/],
  ['NaN-like value', { tier: { $gt: Infinity } }, 'filter.tier.$gt', /Infinity/],
  ['odd field name quoted', { 'a b': { $bad: 1 } }, 'filter["a b"].$bad', /unknown operator/],
];

function nested(depth: number): Record<string, unknown> {
  let f: Record<string, unknown> = { tier: 1 };
  for (let i = 0; i < depth; i++) f = { $and: [f] };
  return f;
}

describe('invalid filters', () => {
  for (const [name, filter, path, reason] of invalidCases) {
    it(`${name}: refused at ${path}`, () => {
      const problem = filterProblem(filter);
      assert.ok(problem instanceof FilterError, 'refused');
      assert.equal(problem.path, path);
      assert.match(problem.reason, reason);
      assert.equal(problem.message, `${path}: ${problem.reason}`);
    });
  }

  it('too deep: refused at the first level past the limit', () => {
    assert.equal(filterProblem(nested(7)), null);
    const problem = filterProblem(nested(8));
    assert.ok(problem);
    assert.match(problem.reason, /nested too deep \(at most 8\)/);
    assert.equal(problem.path, `filter${'.$and[0]'.repeat(8)}`);
  });

  it('too many clauses', () => {
    const wide = { $or: Array.from({ length: 200 }, (_, i) => ({ tier: i })) };
    const problem = filterProblem(wide);
    assert.ok(problem);
    assert.match(problem.reason, /too many clauses \(at most 128\)/);
    assert.match(problem.path, /^filter\.\$or\[\d+\]\.tier$/);
  });

  it('limits are configurable', () => {
    assert.throws(
      () => compileFilter({ a: { $in: [1, 2, 3] } }, { maxDepth: 8, maxClauses: 128, maxListLength: 2 }),
      /filter\.a\.\$in: too many values \(at most 2\)/,
    );
  });

  it('matchesFilter throws the same error', () => {
    assert.throws(() => matchesFilter({ tier: { $foo: 1 } }, doc), FilterError);
  });
});
