// How the Redis driver names itself in errors, and how ioredis and server errors map to
// DriverError codes: every part of the driver reports failures the same way.
import { DriverError, isNetworkError } from '../errors';

export const DRIVER = 'redis';

export function invalid(message: string): DriverError {
  return new DriverError(DRIVER, 'InvalidArgument', message);
}

/** Reply prefixes that mean "the server cannot answer now, but may later". */
const TRANSIENT_REPLIES = new Set([
  'LOADING',
  'BUSY',
  'MASTERDOWN',
  'READONLY',
  'TRYAGAIN',
  'CLUSTERDOWN',
  'MISCONF',
  'OOM',
  'NOREPLICAS',
]);
/** ioredis Cluster's own errors while no node serves a slot (a failover, a refresh in progress). */
const CLUSTER_UNAVAILABLE = [
  'Too many Cluster redirections',
  "Cluster isn't ready",
  'Cluster is disconnected',
  'None of startup nodes is available',
  'Node is disconnected',
  'Failed to refresh slots cache',
];
const PERMISSION_REPLIES = new Set(['NOAUTH', 'WRONGPASS', 'NOPERM']);

/** Maps ioredis and server errors to DriverError; anything unrecognised is returned as is. */
export function classifyRedisError(err: unknown): unknown {
  if (err instanceof DriverError) return err;
  if (!(err instanceof Error)) return err;
  const message = err.message;
  const wrap = (code: ConstructorParameters<typeof DriverError>[1]): DriverError =>
    new DriverError(DRIVER, code, message, { cause: err });
  if (message === 'Command timed out' || message.startsWith('Socket timeout')) return wrap('Timeout');
  if (
    isNetworkError(err) ||
    err.name === 'MaxRetriesPerRequestError' ||
    message === 'Connection is closed.' ||
    message.startsWith("Stream isn't writeable") ||
    message.includes('max number of clients') ||
    CLUSTER_UNAVAILABLE.some((m) => message.startsWith(m)) ||
    err.name === 'ClusterAllFailedError'
  ) {
    return wrap('Unavailable');
  }
  if (err.name === 'ReplyError') {
    const prefix = message.split(' ', 1)[0];
    if (TRANSIENT_REPLIES.has(prefix)) return wrap('Unavailable');
    if (PERMISSION_REPLIES.has(prefix)) return wrap('Permission');
    return wrap('InvalidArgument'); // WRONGTYPE, ERR …: the same call fails again
  }
  return err;
}
