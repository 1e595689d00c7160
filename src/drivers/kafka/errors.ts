// Maps kafkajs errors to typed DriverErrors, by error name and protocol error type (no import of
// kafkajs needed).
import { DriverError, isDriverError, isNetworkError, type DriverErrorCode } from '../errors';

export const DRIVER = 'kafka';

interface KafkaErrorShape {
  name?: unknown;
  message?: unknown;
  type?: unknown;
  retriable?: unknown;
  cause?: unknown;
  originalError?: unknown;
}

function shape(err: unknown): KafkaErrorShape {
  return typeof err === 'object' && err !== null ? (err as KafkaErrorShape) : {};
}

const UNAVAILABLE_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSGroupCoordinatorNotFound',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSStaleTopicMetadataAssignment',
]);
const TIMEOUT_NAMES = new Set(['KafkaJSRequestTimeoutError', 'KafkaJSTimeout', 'KafkaJSLockTimeout']);

const TYPE_CODES: Record<string, DriverErrorCode> = {
  MESSAGE_TOO_LARGE: 'ValueTooLarge',
  RECORD_LIST_TOO_LARGE: 'ValueTooLarge',
  INVALID_TOPIC_EXCEPTION: 'InvalidArgument',
  INVALID_PARTITIONS: 'InvalidArgument',
  INVALID_REPLICATION_FACTOR: 'InvalidArgument',
  INVALID_CONFIG: 'InvalidArgument',
  INVALID_REQUEST: 'InvalidArgument',
  INVALID_RECORD: 'InvalidArgument',
  CORRUPT_MESSAGE: 'InvalidArgument',
  POLICY_VIOLATION: 'InvalidArgument',
  TOPIC_AUTHORIZATION_FAILED: 'Permission',
  GROUP_AUTHORIZATION_FAILED: 'Permission',
  CLUSTER_AUTHORIZATION_FAILED: 'Permission',
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 'Permission',
  SASL_AUTHENTICATION_FAILED: 'Permission',
  ILLEGAL_SASL_STATE: 'Permission',
  UNSUPPORTED_SASL_MECHANISM: 'Permission',
  REQUEST_TIMED_OUT: 'Timeout',
  TOPIC_ALREADY_EXISTS: 'Conflict',
  UNSUPPORTED_VERSION: 'Unsupported',
  UNSUPPORTED_FOR_MESSAGE_FORMAT: 'Unsupported',
};

// kafkajs wraps the error that made it give up: "retries exceeded", and "non-retriable" (which a
// producer throws around a connection error once its own retries are spent).
const WRAPPERS = new Set(['KafkaJSNumberOfRetriesExceeded', 'KafkaJSNonRetriableError']);

/** The error behind kafkajs's wrappers. */
function innermost(err: unknown): unknown {
  let e = err;
  for (let i = 0; i < 5; i++) {
    const s = shape(e);
    if (!WRAPPERS.has(String(s.name))) break;
    const next = s.cause ?? s.originalError;
    if (!next) break;
    e = next;
  }
  return e;
}

/** The Kafka protocol error type (e.g. UNKNOWN_TOPIC_OR_PARTITION) behind err, if any. */
export function protocolErrorType(err: unknown): string | undefined {
  const t = shape(innermost(err)).type;
  return typeof t === 'string' ? t : undefined;
}

export function classify(err: unknown): DriverErrorCode | null {
  const e = innermost(err);
  if (isNetworkError(e)) return 'Unavailable';
  const s = shape(e);
  const name = typeof s.name === 'string' ? s.name : '';
  if (!name.startsWith('KafkaJS')) return null;
  if (typeof s.type === 'string' && TYPE_CODES[s.type]) return TYPE_CODES[s.type];
  if (UNAVAILABLE_NAMES.has(name)) return 'Unavailable';
  if (TIMEOUT_NAMES.has(name)) return 'Timeout';
  if (name === 'KafkaJSSASLAuthenticationError') return 'Permission';
  if (name === 'KafkaJSServerDoesNotSupportApiKey' || name === 'KafkaJSNotImplemented') return 'Unsupported';
  return s.retriable === true ? 'Unavailable' : 'InvalidArgument';
}

/**
 * Wraps err as a DriverError (unchanged when it already is one); other errors (a TypeError: a bug)
 * are returned as they are.
 */
export function toDriverError(err: unknown, what: string): unknown {
  if (isDriverError(err)) return err;
  const code = classify(err);
  if (!code) return err;
  const inner = innermost(err);
  const message = shape(inner).message;
  return new DriverError(DRIVER, code, `${what}: ${typeof message === 'string' ? message : String(inner)}`, {
    cause: err,
  });
}

export async function guard<T>(what: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw toDriverError(err, what);
  }
}
