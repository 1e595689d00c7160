// Templates in saga definitions, pure: `${input.orderId}`, `${steps.reserve.result.id}`,
// `${sagaId}`, `${step}`, `${idempotencyKey}`. A string that is exactly one reference keeps the
// referenced value's type (a number stays a number); references inside longer text are
// interpolated as text. `{ $utf8: … }` and `{ $json: … }` turn a value into bytes, for driver
// operations that take bytes.
import { utf8 } from '../../common/base64';

const REFERENCE = /\$\{([^}]*)\}/g;
const WHOLE_REFERENCE = /^\$\{([^}]*)\}$/;
const PATH = /^[A-Za-z_$][A-Za-z0-9_$-]*(\.[A-Za-z0-9_$-]+)*$/;

export class TemplateError extends Error {}

/** Every `${…}` path in a value (strings anywhere inside arrays and objects). */
export function templateReferences(value: unknown): string[] {
  if (typeof value === 'string') return [...value.matchAll(REFERENCE)].map((m) => m[1].trim());
  if (Array.isArray(value)) return value.flatMap(templateReferences);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(templateReferences);
  return [];
}

export function isValidPath(path: string): boolean {
  return PATH.test(path);
}

/** The value at a dotted path, or throws TemplateError naming the path. */
export function lookup(scope: unknown, path: string): unknown {
  if (!isValidPath(path)) throw new TemplateError(`\${${path}}: not a valid reference`);
  let current: unknown = scope;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object' || !Object.prototype.hasOwnProperty.call(current, part)) {
      throw new TemplateError(`\${${path}}: no value at "${part}"`);
    }
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/** Whether path leads to a value in scope. */
export function hasPath(scope: unknown, path: string): boolean {
  try {
    lookup(scope, path);
    return true;
  } catch {
    return false;
  }
}

function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return utf8.decode(value);
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** Renders every template in value against scope. */
export function render(value: unknown, scope: unknown): unknown {
  if (typeof value === 'string') {
    const whole = WHOLE_REFERENCE.exec(value);
    if (whole) return lookup(scope, whole[1].trim());
    return value.replace(REFERENCE, (_m, path: string) => asText(lookup(scope, path.trim())));
  }
  if (Array.isArray(value)) return value.map((v) => render(v, scope));
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 1 && entries[0][0] === '$utf8') return utf8.encode(asText(render(entries[0][1], scope)));
    if (entries.length === 1 && entries[0][0] === '$json') {
      return utf8.encode(JSON.stringify(render(entries[0][1], scope)));
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, render(v, scope)]));
  }
  return value;
}

export const DEFAULT_IDEMPOTENCY_KEY = '${sagaId}:${step}';

/** A step's idempotency key from its template (default `${sagaId}:${step}`). */
export function idempotencyKey(
  template: string | undefined,
  vars: { sagaId: string; step: string; [name: string]: unknown },
): string {
  return asText(render(template ?? DEFAULT_IDEMPOTENCY_KEY, vars));
}
