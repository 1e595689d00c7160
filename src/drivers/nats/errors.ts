// Maps errors of the NATS client packages to typed DriverErrors. Classifies by error name and
// shape, so this module needs no import of the client packages.
import { DriverError, isDriverError, isNetworkError } from '../errors';

export const DRIVER = 'nats';

/** JetStream API error codes the driver tells apart. */
export const JS_CODES = {
  consumerNotFound: 10014,
  streamNotFound: 10059,
  noMessageFound: 10037,
  jetStreamNotEnabled: 10039,
  jetStreamNotEnabledForAccount: 10076,
  streamNameInUse: 10058,
  consumerNameExists: 10013,
  messageTooLarge: 10054,
  wrongLastSequence: 10071,
  insufficientResources: 10023,
} as const;

interface ErrorShape {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  status?: unknown;
  cause?: unknown;
}

function shape(err: unknown): ErrorShape {
  return typeof err === 'object' && err !== null ? (err as ErrorShape) : {};
}

/** The JetStream API error code of err (JetStreamApiError), if any. */
export function jsApiCode(err: unknown): number | undefined {
  const e = shape(err);
  return (e.name === 'JetStreamApiError' || e.name === 'StreamNotFoundError' || e.name === 'ConsumerNotFoundError') &&
    typeof e.code === 'number'
    ? e.code
    : undefined;
}

export function isNotFound(err: unknown): boolean {
  const code = jsApiCode(err);
  return code === JS_CODES.streamNotFound || code === JS_CODES.consumerNotFound;
}

/**
 * Wraps err as a DriverError (unchanged when it already is one); `what` names the operation.
 * Errors that do not come from the client or the server (a TypeError: a bug) are returned as they
 * are, so they are not mistaken for a transient backend condition.
 */
export function toDriverError(err: unknown, what: string): unknown {
  if (isDriverError(err)) return err;
  const e = shape(err);
  const name = typeof e.name === 'string' ? e.name : '';
  const message = typeof e.message === 'string' ? e.message : String(err);
  const fail = (code: ConstructorParameters<typeof DriverError>[1]): DriverError =>
    new DriverError(DRIVER, code, `${what}: ${message}`, { cause: err });

  if (isNetworkError(err)) return fail('Unavailable');
  switch (name) {
    case 'TimeoutError':
      return fail('Timeout');
    case 'ConnectionError':
    case 'ClosedConnectionError':
    case 'DrainingConnectionError':
    case 'NoResponders':
    case 'NoRespondersError':
    case 'JetStreamNotEnabled':
      return fail('Unavailable');
    case 'RequestError':
      return fail(message.includes('timeout') ? 'Timeout' : 'Unavailable');
    case 'AuthorizationError':
    case 'UserAuthenticationExpiredError':
    case 'PermissionViolationError':
      return fail('Permission');
    case 'InvalidArgumentError':
      return fail(message.includes('max_payload') ? 'ValueTooLarge' : 'InvalidArgument');
    case 'InvalidSubjectError':
    case 'InvalidNameError':
    case 'InvalidOperationError':
      return fail('InvalidArgument');
    case 'ProtocolError':
      return fail('Unavailable');
  }
  const api = jsApiCode(err);
  if (api !== undefined) {
    const status = typeof e.status === 'number' ? e.status : 0;
    if (api === JS_CODES.streamNotFound || api === JS_CODES.consumerNotFound || api === JS_CODES.noMessageFound) {
      return fail('NotFound');
    }
    if (api === JS_CODES.messageTooLarge) return fail('ValueTooLarge');
    if (api === JS_CODES.wrongLastSequence) return fail('Conflict');
    if (api === JS_CODES.jetStreamNotEnabled || api === JS_CODES.jetStreamNotEnabledForAccount) {
      return fail('Unsupported');
    }
    if (status === 503 || status === 408 || api === JS_CODES.insufficientResources) return fail('Unavailable');
    if (status === 401 || status === 403) return fail('Permission');
    return fail('InvalidArgument');
  }
  if (name === 'JetStreamError' || name === 'JetStreamStatusError') return fail('Unavailable');
  return err;
}

/** Runs op, turning client and server errors into DriverErrors. */
export async function guard<T>(what: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw toDriverError(err, what);
  }
}

/** Bounds a call that has no timeout of its own (a flush waits through a reconnect): Timeout. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DriverError(DRIVER, 'Timeout', `${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
