// Test helpers for TLS: a throwaway CA and certificates made with `openssl`, and a TLS-terminating
// TCP proxy on loopback in front of the plaintext dev server (gRPC's HTTP/2 passes through as bytes).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect as netConnect, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { createServer, type Server, type TLSSocket } from 'node:tls';

export interface Pki {
  caCert: string;
  caKey: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

export function makeCa(dir: string, name: string): Pki {
  const caKey = join(dir, `${name}-ca.key`);
  const caCert = join(dir, `${name}-ca.pem`);
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      caKey,
      '-out',
      caCert,
      '-days',
      '1',
      '-subj',
      `/CN=${name} test CA`,
    ],
    dir,
  );
  return { caCert, caKey };
}

/** A certificate signed by the CA for the given DNS names and IPs; returns the cert and key paths. */
export function issue(
  dir: string,
  ca: Pki,
  name: string,
  sans: string[],
  usage: 'serverAuth' | 'clientAuth',
): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.pem`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, `subjectAltName=${sans.join(',')}\nextendedKeyUsage=${usage}\nbasicConstraints=CA:FALSE\n`);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`], dir);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca.caCert,
      '-CAkey',
      ca.caKey,
      '-CAcreateserial',
      '-out',
      cert,
      '-days',
      '1',
      '-extfile',
      ext,
    ],
    dir,
  );
  return { cert, key };
}

export interface TlsProxy {
  port: number;
  /** Handshakes that failed, with the reason (for reports). */
  failures: string[];
  close(): Promise<void>;
}

/** Listens with TLS on a free loopback port and forwards each connection to `target` in plaintext. */
export async function startTlsProxy(options: {
  cert: Buffer;
  key: Buffer;
  target: { host: string; port: number };
  /** mTLS: require a client certificate signed by this CA. */
  clientCa?: Buffer;
}): Promise<TlsProxy> {
  const sockets = new Set<Socket>();
  const failures: string[] = [];
  const server: Server = createServer(
    {
      cert: options.cert,
      key: options.key,
      ALPNProtocols: ['h2'],
      ...(options.clientCa ? { ca: options.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
    },
    (tlsSocket: TLSSocket) => {
      const upstream = netConnect(options.target.port, options.target.host);
      sockets.add(tlsSocket).add(upstream);
      tlsSocket.pipe(upstream).pipe(tlsSocket);
      const end = (): void => {
        tlsSocket.destroy();
        upstream.destroy();
      };
      tlsSocket.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    },
  );
  server.on('tlsClientError', (err) => failures.push(err.message));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    failures,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
