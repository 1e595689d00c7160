// Typed driver errors. The activity layer maps `retryable` to Temporal's retry behaviour and
// `code` to a stable ApplicationFailure type; the breaker counts only transient ones.

export type DriverErrorCode =
  // transient: the backend may answer later
  | 'Unavailable' // connection refused or lost, broker not available
  | 'Timeout'
  // permanent: the same call will fail again
  | 'InvalidArgument' // bad key, bad option, wrong type
  | 'ValueTooLarge'
  | 'KeyTooLong'
  | 'Unsupported' // the backend cannot do this (e.g. version too old)
  | 'NotFound'
  | 'Conflict'
  | 'Permission';

const TRANSIENT: ReadonlySet<DriverErrorCode> = new Set(['Unavailable', 'Timeout']);

export class DriverError extends Error {
  readonly code: DriverErrorCode;
  readonly driver: string;
  readonly retryable: boolean;

  constructor(driver: string, code: DriverErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${driver}: ${message}`, options);
    this.name = 'DriverError';
    this.driver = driver;
    this.code = code;
    this.retryable = TRANSIENT.has(code);
  }
}

export function isDriverError(err: unknown): err is DriverError {
  return err instanceof DriverError;
}

/** Error codes of Node's network layer that mean "try again later". */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTCONN',
]);

export function isNetworkError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && NETWORK_CODES.has(code);
}
