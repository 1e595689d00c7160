// Temporal connection TLS from the config: CA, client certificate pair (mTLS) and server name.
// Same shape for the client's Connection and the worker's NativeConnection.
import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import type { TemporalTlsConfig } from './config';
import { SecretError } from './secrets';

function read(file: string, field: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new SecretError([
      `temporal.tls.${field}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
    ]);
  }
}

/** undefined: plaintext; otherwise TLS, verified against ca_file (or the system's CAs). */
export function temporalTlsOptions(tls: TemporalTlsConfig | undefined): TLSConfig | undefined {
  if (!tls) return undefined;
  const options: TLSConfig = {};
  if (tls.ca_file) options.serverRootCACertificate = read(tls.ca_file, 'ca_file');
  if (tls.cert_file && tls.key_file)
    options.clientCertPair = { crt: read(tls.cert_file, 'cert_file'), key: read(tls.key_file, 'key_file') };
  if (tls.server_name) options.serverNameOverride = tls.server_name;
  return options;
}
