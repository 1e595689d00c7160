// The multicast registry's filter language: Mongo-like JSON over an identity's metadata. One pure
// module, used by workflow code (validate before any work) and activity code (match while
// scanning), so both always agree on what a filter means.
//
//   { "region": "eu", "tier": { "$gte": 2 }, "$or": [{ "zone": { "$in": ["a", "b"] } }, { "canary": true }] }
//
// A field is a dot path into the metadata ("labels.zone"); its condition is a scalar (equality)
// or an object of operators, all combined with AND. Logical operators $and/$or take non-empty
// arrays of filters, $not takes a filter (or, on a field, an operator object). An invalid filter
// is refused with the path of the offending part, e.g. `filter.$and[1].region.$in: expected an array`.

export type Scalar = string | number | boolean | null;
export type Json = Scalar | Json[] | { [key: string]: Json };
export type Metadata = { [key: string]: Json };

export interface FilterLimits {
  /** Nesting of filters inside $and/$or/$not. */
  maxDepth: number;
  /** Field conditions, operators and logical clauses, counted over the whole filter. */
  maxClauses: number;
  /** Elements of one $in/$nin list. */
  maxListLength: number;
}

export const DEFAULT_FILTER_LIMITS: FilterLimits = { maxDepth: 8, maxClauses: 128, maxListLength: 1000 };

const COMPARISON = ['$eq', '$ne', '$lt', '$lte', '$gt', '$gte'] as const;
const LIST = ['$in', '$nin'] as const;
const STRING = ['$startsWith', '$endsWith', '$contains'] as const;
const LOGICAL = ['$and', '$or', '$not'] as const;

type ComparisonOp = (typeof COMPARISON)[number];
type ListOp = (typeof LIST)[number];
type StringOp = (typeof STRING)[number];

/** A field condition, compiled. */
type Condition =
  | { op: ComparisonOp; value: Scalar }
  | { op: ListOp; values: Scalar[] }
  | { op: StringOp; value: string }
  | { op: '$exists'; value: boolean }
  | { op: '$not'; conditions: Condition[] };

/** A compiled filter: every node must hold. */
export type FilterNode =
  | { kind: 'field'; path: string[]; conditions: Condition[] }
  | { kind: 'and'; nodes: FilterNode[] }
  | { kind: 'or'; nodes: FilterNode[] }
  | { kind: 'not'; node: FilterNode };

export class FilterError extends Error {
  constructor(
    /** Where in the filter, e.g. `filter.$and[1].region.$in`. */
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'FilterError';
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isScalar(value: unknown): value is Scalar {
  return (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function child(path: string, key: string): string {
  return /^[$A-Za-z_][\w$.-]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

class Compiler {
  private clauses = 0;

  constructor(private readonly limits: FilterLimits) {}

  private count(path: string): void {
    this.clauses += 1;
    if (this.clauses > this.limits.maxClauses) {
      throw new FilterError(path, `too many clauses (at most ${this.limits.maxClauses})`);
    }
  }

  filter(value: unknown, path: string, depth: number): FilterNode {
    if (depth > this.limits.maxDepth) throw new FilterError(path, `nested too deep (at most ${this.limits.maxDepth})`);
    if (!isPlainObject(value)) throw new FilterError(path, `expected a filter object, got ${describe(value)}`);
    const nodes: FilterNode[] = [];
    for (const [key, operand] of Object.entries(value)) {
      const at = child(path, key);
      this.count(at);
      if (key === '$and' || key === '$or') {
        if (!Array.isArray(operand))
          throw new FilterError(at, `expected an array of filters, got ${describe(operand)}`);
        if (operand.length === 0) throw new FilterError(at, 'expected at least one filter');
        const children = operand.map((f, i) => this.filter(f, `${at}[${i}]`, depth + 1));
        nodes.push({ kind: key === '$and' ? 'and' : 'or', nodes: children });
      } else if (key === '$not') {
        nodes.push({ kind: 'not', node: this.filter(operand, at, depth + 1) });
      } else if (key.startsWith('$')) {
        throw new FilterError(at, `unknown logical operator (expected one of ${LOGICAL.join(', ')} or a field name)`);
      } else {
        const fieldPath = key.split('.');
        if (key.length === 0 || fieldPath.some((p) => p.length === 0)) {
          throw new FilterError(at, 'a field name must be a non-empty dot path');
        }
        nodes.push({ kind: 'field', path: fieldPath, conditions: this.conditions(operand, at, depth) });
      }
    }
    return nodes.length === 1 ? nodes[0] : { kind: 'and', nodes };
  }

  private conditions(operand: unknown, path: string, depth: number): Condition[] {
    if (isScalar(operand)) return [{ op: '$eq', value: operand }];
    if (!isPlainObject(operand)) {
      throw new FilterError(path, `expected a scalar or an operator object, got ${describe(operand)}`);
    }
    const keys = Object.keys(operand);
    if (keys.length === 0) throw new FilterError(path, 'expected at least one operator');
    const plain = keys.find((k) => !k.startsWith('$'));
    if (plain !== undefined) {
      throw new FilterError(
        path,
        `expected operators starting with "$", got "${plain}" (for a nested field use a dot path, e.g. "${path.split('.').pop()}.${plain}")`,
      );
    }
    return keys.map((op) => this.condition(op, operand[op], child(path, op), depth));
  }

  private condition(op: string, operand: unknown, path: string, depth: number): Condition {
    this.count(path);
    if ((COMPARISON as readonly string[]).includes(op)) {
      if (!isScalar(operand))
        throw new FilterError(path, `expected a string, number, boolean or null, got ${describe(operand)}`);
      if (op !== '$eq' && op !== '$ne' && typeof operand !== 'number' && typeof operand !== 'string') {
        throw new FilterError(path, `expected a number or a string, got ${describe(operand)}`);
      }
      return { op: op as ComparisonOp, value: operand };
    }
    if ((LIST as readonly string[]).includes(op)) {
      if (!Array.isArray(operand)) throw new FilterError(path, `expected an array, got ${describe(operand)}`);
      if (operand.length > this.limits.maxListLength) {
        throw new FilterError(path, `too many values (at most ${this.limits.maxListLength})`);
      }
      operand.forEach((v, i) => {
        if (!isScalar(v)) throw new FilterError(`${path}[${i}]`, `expected a scalar, got ${describe(v)}`);
      });
      return { op: op as ListOp, values: operand as Scalar[] };
    }
    if ((STRING as readonly string[]).includes(op)) {
      if (typeof operand !== 'string') throw new FilterError(path, `expected a string, got ${describe(operand)}`);
      return { op: op as StringOp, value: operand };
    }
    if (op === '$exists') {
      if (typeof operand !== 'boolean') throw new FilterError(path, `expected true or false, got ${describe(operand)}`);
      return { op, value: operand };
    }
    if (op === '$not') {
      if (depth + 1 > this.limits.maxDepth) {
        throw new FilterError(path, `nested too deep (at most ${this.limits.maxDepth})`);
      }
      if (!isPlainObject(operand)) throw new FilterError(path, `expected an operator object, got ${describe(operand)}`);
      return { op, conditions: this.conditions(operand, path, depth + 1) };
    }
    const known = [...COMPARISON, ...LIST, ...STRING, '$exists', '$not'].join(' ');
    throw new FilterError(path, `unknown operator "${op}" (expected one of ${known})`);
  }
}

/** Validates and compiles a filter; throws FilterError naming the offending part. */
export function compileFilter(
  filter: unknown,
  limits: FilterLimits = DEFAULT_FILTER_LIMITS,
  root = 'filter',
): FilterNode {
  return new Compiler(limits).filter(filter, root, 1);
}

/** The first problem with a filter, or null when it is valid. */
export function filterProblem(filter: unknown, limits: FilterLimits = DEFAULT_FILTER_LIMITS): FilterError | null {
  try {
    compileFilter(filter, limits);
    return null;
  } catch (err) {
    if (err instanceof FilterError) return err;
    throw err;
  }
}

const MISSING = Symbol('missing');
type Resolved = Json | typeof MISSING;

function resolve(metadata: Metadata, path: string[]): Resolved {
  let current: Json | undefined = metadata;
  for (const segment of path) {
    if (!isPlainObject(current) || !Object.prototype.hasOwnProperty.call(current, segment)) return MISSING;
    current = (current as { [key: string]: Json })[segment];
  }
  return current === undefined ? MISSING : current;
}

function equals(actual: Resolved, expected: Scalar): boolean {
  if (actual === MISSING) return false;
  // An array field equals a scalar it contains (as in Mongo).
  if (Array.isArray(actual)) return actual.some((v) => v === expected);
  return actual === expected;
}

function order(actual: Resolved, op: '$lt' | '$lte' | '$gt' | '$gte', bound: Scalar): boolean {
  // Only values of the same type compare: 10 is not "greater than" "9".
  if (
    actual === MISSING ||
    typeof actual !== typeof bound ||
    (typeof actual !== 'number' && typeof actual !== 'string')
  ) {
    return false;
  }
  const a = actual as number | string;
  const b = bound as number | string;
  switch (op) {
    case '$lt':
      return a < b;
    case '$lte':
      return a <= b;
    case '$gt':
      return a > b;
    case '$gte':
      return a >= b;
  }
}

function holds(condition: Condition, actual: Resolved): boolean {
  switch (condition.op) {
    case '$eq':
      return equals(actual, condition.value);
    case '$ne':
      return !equals(actual, condition.value);
    case '$lt':
    case '$lte':
    case '$gt':
    case '$gte':
      return order(actual, condition.op, condition.value);
    case '$in':
      return condition.values.some((v) => equals(actual, v));
    case '$nin':
      return !condition.values.some((v) => equals(actual, v));
    case '$exists':
      return (actual !== MISSING) === condition.value;
    case '$startsWith':
      return typeof actual === 'string' && actual.startsWith(condition.value);
    case '$endsWith':
      return typeof actual === 'string' && actual.endsWith(condition.value);
    case '$contains':
      if (typeof actual === 'string') return actual.includes(condition.value);
      return Array.isArray(actual) && actual.some((v) => v === condition.value);
    case '$not':
      return !condition.conditions.every((c) => holds(c, actual));
  }
}

/** Whether metadata satisfies a compiled filter. */
export function matches(node: FilterNode, metadata: Metadata): boolean {
  switch (node.kind) {
    case 'field': {
      const actual = resolve(metadata, node.path);
      return node.conditions.every((c) => holds(c, actual));
    }
    case 'and':
      return node.nodes.every((n) => matches(n, metadata));
    case 'or':
      return node.nodes.some((n) => matches(n, metadata));
    case 'not':
      return !matches(node.node, metadata);
  }
}

/** Compiles and matches in one step (throws FilterError for an invalid filter). */
export function matchesFilter(filter: unknown, metadata: Metadata, limits?: FilterLimits): boolean {
  return matches(compileFilter(filter, limits), metadata);
}
