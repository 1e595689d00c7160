// What the worker and the client need from the security config, resolved once at start-up:
// secret references inside backends.*.config and patterns.*.settings, the payload codecs, and the
// Temporal TLS options.
// Every problem becomes a ConfigError naming the field; no secret value is ever in a message.
import type { PayloadCodec } from '@temporalio/common';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import { ConfigError } from '../common/config-errors';
import type { PrismConfig } from './schema';
import { payloadCodecsFromConfig } from '../security/codec';
import { scrubText } from '../common/secret-registry';
import { resolveSecretRefs, SecretError } from '../security/secrets';
import { temporalTlsOptions } from '../security/tls';

export interface PreparedSecurity {
  /** The config with secret references in driver configs and pattern settings replaced by their values. */
  config: PrismConfig;
  payloadCodecs: PayloadCodec[];
  tls: TLSConfig | undefined;
}

function attempt<T>(problems: string[], fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (err instanceof SecretError) problems.push(...err.problems);
    else problems.push(scrubText((err as Error).message));
    return undefined;
  }
}

/** Connection-side security only (the client needs no driver secrets). */
export function prepareConnectionSecurity(config: PrismConfig, file = '<config>'): Omit<PreparedSecurity, 'config'> {
  const problems: string[] = [];
  const payloadCodecs = attempt(problems, () => payloadCodecsFromConfig(config.codec)) ?? [];
  const tls = attempt(problems, () => temporalTlsOptions(config.temporal.tls));
  if (problems.length > 0) throw new ConfigError(file, problems);
  return { payloadCodecs, tls };
}

export function prepareSecurity(config: PrismConfig, file = '<config>'): PreparedSecurity {
  const problems: string[] = [];
  const backends = { ...config.backends };
  for (const [name, backend] of Object.entries(config.backends)) {
    const resolved = attempt(problems, () => resolveSecretRefs(backend.config, ['backends', name, 'config']));
    if (resolved !== undefined) backends[name] = { ...backend, config: resolved as Record<string, unknown> };
  }
  // Pattern settings the same way, before any pattern's own schema sees them: a pattern takes a
  // credential as a plain string and never learns whether it came from the file or a reference.
  const patterns = { ...config.patterns };
  for (const [name, pattern] of Object.entries(config.patterns)) {
    const resolved = attempt(problems, () => resolveSecretRefs(pattern.settings, ['patterns', name, 'settings']));
    if (resolved !== undefined) patterns[name] = { ...pattern, settings: resolved as Record<string, unknown> };
  }
  let connection: Omit<PreparedSecurity, 'config'> = { payloadCodecs: [], tls: undefined };
  try {
    connection = prepareConnectionSecurity(config, file);
  } catch (err) {
    problems.push(...(err as ConfigError).problems);
  }
  if (problems.length > 0) throw new ConfigError(file, problems);
  return { config: { ...config, backends, patterns }, ...connection };
}

/** The same error with registered secrets and URL passwords scrubbed from its message. */
export function scrubError<E>(err: E): E {
  if (err instanceof Error) {
    err.message = scrubText(err.message);
    if (err.stack) err.stack = scrubText(err.stack);
    if (err instanceof ConfigError) err.problems.splice(0, err.problems.length, ...err.problems.map(scrubText));
  }
  return err;
}
