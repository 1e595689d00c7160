// Maps errors of pg (SQLSTATE codes, socket errors, client-state errors) to DriverError codes.
import { DriverError, isDriverError, isNetworkError, type DriverErrorCode } from '../errors';
import { DRIVER } from './sql';

function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** The SQLSTATE of a pg error, or of the pg error a DriverError wraps. */
export function sqlStateOf(err: unknown): string | undefined {
  return sqlState(err) ?? (isDriverError(err) ? sqlState(err.cause) : undefined);
}

/** The DriverError code for a Postgres SQLSTATE. */
export function codeForSqlState(state: string): DriverErrorCode {
  switch (state) {
    case '57014': // query_canceled (statement_timeout)
    case '55P03': // lock_not_available (lock_timeout)
      return 'Timeout';
    case '57P01': // admin_shutdown
    case '57P02': // crash_shutdown
    case '57P03': // cannot_connect_now
    case '55006': // object_in_use (e.g. replication slot active in another session)
    case '40001': // serialization_failure: retrying is the cure
    case '40P01': // deadlock_detected
      return 'Unavailable';
    case '42501': // insufficient_privilege
      return 'Permission';
    case '42P01': // undefined_table
    case '42704': // undefined_object (slot, publication)
    case '3F000': // invalid_schema_name
    case '3D000': // invalid_catalog_name (database)
      return 'NotFound';
    case '54000': // program_limit_exceeded (e.g. index row too big)
      return 'ValueTooLarge';
    case '55000': // object_not_in_prerequisite_state (e.g. wal_level)
    case '0A000': // feature_not_supported
      return 'Unsupported';
  }
  switch (state.slice(0, 2)) {
    case '08': // connection exception
    case '53': // insufficient resources (too many connections, disk full)
    case '58': // system error (I/O)
      return 'Unavailable';
    case '28': // invalid authorization
      return 'Permission';
    case '22': // data exception
    case '42': // syntax error or access rule violation
      return 'InvalidArgument';
    case '23': // integrity constraint violation
      return 'Conflict';
  }
  return 'Unavailable';
}

/** Wraps any error thrown by pg into a DriverError (DriverErrors pass through). */
export function toDriverError(err: unknown, action: string): DriverError {
  if (isDriverError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  const state = sqlState(err);
  let code: DriverErrorCode;
  if (state) code = codeForSqlState(state);
  else if (isNetworkError(err)) code = 'Unavailable';
  // pg's own errors ("timeout exceeded when trying to connect", "Query read timeout")
  else if (/timeout/i.test(message)) code = 'Timeout';
  // Anything else without a SQLSTATE comes from the client or the transport ("Connection terminated
  // unexpectedly", "Client has encountered a connection error and is not queryable"): transient.
  else code = 'Unavailable';
  const detail = state ? `${message} (SQLSTATE ${state})` : message;
  return new DriverError(DRIVER, code, `${action} failed: ${detail}`, { cause: err });
}
