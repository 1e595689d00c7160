// Structured JSON logs, one object per line. Fields whose names look secret are redacted, so a
// config or an error object logged by mistake does not leak a password; resolved secret values
// and URL passwords are scrubbed from every string, the message included. A line written inside a
// traced span carries its trace_id and span_id, so logs and traces join up.
import { isSpanContextValid, trace } from '@opentelemetry/api';
import { scrubText } from '../common/secret-registry';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_FIELD = /pass(word)?|secret|token|key$|credential|authorization/i;

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
  /** Whether a line at `level` would be written (absent: assume it would), to skip building it. */
  enabled?(level: LogLevel): boolean;
}

export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { name: value.name, message: scrubText(value.message) };
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_FIELD.test(k) ? '[redacted]' : redact(v, depth + 1);
  return out;
}

/** The active span's ids (none while tracing is off: no context manager, no active span). */
function traceIds(): { trace_id?: string; span_id?: string } {
  const context = trace.getActiveSpan()?.spanContext();
  return context && isSpanContextValid(context) ? { trace_id: context.traceId, span_id: context.spanId } : {};
}

export function createLogger(
  level: LogLevel = 'info',
  base: LogFields = {},
  write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
): Logger {
  const log = (lvl: LogLevel, message: string, fields?: LogFields): void => {
    if (ORDER[lvl] < ORDER[level]) return;
    write(
      JSON.stringify({
        ts: new Date().toISOString(),
        level: lvl,
        msg: scrubText(message),
        ...traceIds(),
        ...(redact({ ...base, ...fields }) as LogFields),
      }),
    );
  };
  return {
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
    child: (fields) => createLogger(level, { ...base, ...fields }, write),
    enabled: (lvl) => ORDER[lvl] >= ORDER[level],
  };
}
