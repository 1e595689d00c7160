// TLS to Temporal: a throwaway CA and server certificate (openssl), a TLS proxy on loopback in
// front of the dev server. The right CA connects (client and worker connections, a full worker
// run); no CA or another CA is refused; with mTLS, a client without a certificate is refused.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { stringify } from 'yaml';
import { PrismClient } from '../../src/client/prism-client';
import { parseConfig } from '../../src/config/load';
import { temporalTlsOptions } from '../../src/security/tls';
import { stackEnv, uniqueName } from '../helpers/env';
import { startWorker, testConfig, waitFor } from '../helpers/worker-process';
import { tempDir } from './helpers';
import { issue, makeCa, startTlsProxy, type Pki, type TlsProxy } from './tls-proxy';

const SERVER_NAME = 'temporal.prism.test';

describe('TLS to Temporal', () => {
  const dir = tempDir();
  const [host, port] = stackEnv.temporalAddress.split(':');
  let ca: Pki;
  let otherCa: Pki;
  let client: { cert: string; key: string };
  let proxy: TlsProxy;
  let mtlsProxy: TlsProxy;

  before(async () => {
    ca = makeCa(dir, 'prism');
    otherCa = makeCa(dir, 'other');
    const server = issue(dir, ca, 'server', [`DNS:${SERVER_NAME}`, 'DNS:localhost', 'IP:127.0.0.1'], 'serverAuth');
    client = issue(dir, ca, 'client', ['DNS:prism-worker'], 'clientAuth');
    const serverOptions = {
      cert: readFileSync(server.cert),
      key: readFileSync(server.key),
      target: { host, port: Number(port) },
    };
    proxy = await startTlsProxy(serverOptions);
    mtlsProxy = await startTlsProxy({ ...serverOptions, clientCa: readFileSync(ca.caCert) });
  });

  after(async () => {
    await proxy?.close();
    await mtlsProxy?.close();
  });

  const describeNamespace = async (address: string, tls: ReturnType<typeof temporalTlsOptions>): Promise<string> => {
    const connection = await Connection.connect({ address, tls, connectTimeout: '5s' });
    try {
      const res = await connection.workflowService.describeNamespace({ namespace: 'default' });
      return res.namespaceInfo?.name ?? '';
    } finally {
      await connection.close();
    }
  };

  it('the client connects with the right CA and server name', async () => {
    const tls = temporalTlsOptions({ ca_file: ca.caCert, server_name: SERVER_NAME });
    assert.equal(await describeNamespace(`127.0.0.1:${proxy.port}`, tls), 'default');
  });

  /** The attempt fails, and the proxy saw a failed TLS handshake meanwhile (not a mere timeout). */
  const refused = async (via: TlsProxy, attempt: Promise<unknown>, why: string): Promise<void> => {
    const before = via.failures.length;
    await assert.rejects(attempt, why);
    await waitFor('the failed handshake', async () => via.failures.length > before, 5_000);
  };

  it('without the CA, or with another CA, or with the wrong name, the connection is refused', async () => {
    const address = `127.0.0.1:${proxy.port}`;
    await refused(proxy, describeNamespace(address, {}), 'the system CAs do not trust it');
    await refused(
      proxy,
      describeNamespace(address, temporalTlsOptions({ ca_file: otherCa.caCert, server_name: SERVER_NAME })),
      'another CA',
    );
    await refused(
      proxy,
      describeNamespace(address, temporalTlsOptions({ ca_file: ca.caCert, server_name: 'wrong.name' })),
      'the name must match the certificate',
    );
    process.stdout.write(`# failed handshakes seen by the proxy: ${[...new Set(proxy.failures)].join('; ')}\n`);
  });

  it('the worker connection (NativeConnection) verifies the same way', async () => {
    const good = await NativeConnection.connect({
      address: `127.0.0.1:${proxy.port}`,
      tls: temporalTlsOptions({ ca_file: ca.caCert, server_name: SERVER_NAME }),
    });
    const res = await good.workflowService.describeNamespace({ namespace: 'default' });
    assert.equal(res.namespaceInfo?.name, 'default');
    await good.close();
    await assert.rejects(
      NativeConnection.connect({
        address: `127.0.0.1:${proxy.port}`,
        tls: temporalTlsOptions({ ca_file: otherCa.caCert, server_name: SERVER_NAME }),
      }),
      /InvalidCertificate\(UnknownIssuer\)/,
    );
  });

  it('mTLS: a client certificate from the config is presented; without one the server refuses', async () => {
    const address = `127.0.0.1:${mtlsProxy.port}`;
    const withCert = temporalTlsOptions({
      ca_file: ca.caCert,
      server_name: SERVER_NAME,
      cert_file: client.cert,
      key_file: client.key,
    });
    assert.equal(await describeNamespace(address, withCert), 'default');
    await refused(
      mtlsProxy,
      describeNamespace(address, temporalTlsOptions({ ca_file: ca.caCert, server_name: SERVER_NAME })),
      'no client certificate',
    );
    process.stdout.write(`# mTLS proxy refusals: ${[...new Set(mtlsProxy.failures)].join('; ')}\n`);
  });

  it('a worker and a client configured with temporal.tls run a workflow through the TLS proxy', async () => {
    const taskQueue = uniqueName('security-tls');
    const base = testConfig(taskQueue, {
      backends: { mem: { driver: 'memory' } },
      patterns: { 'kv-probe': { slots: { store: 'mem' } } },
    });
    const raw = {
      ...base,
      temporal: {
        ...(base.temporal as Record<string, unknown>),
        address: `127.0.0.1:${mtlsProxy.port}`,
        tls: { ca_file: ca.caCert, cert_file: client.cert, key_file: client.key, server_name: SERVER_NAME },
      },
    };
    const worker = await startWorker(raw);
    const prism = await PrismClient.connect({ config: parseConfig(stringify(raw)) });
    try {
      const started = await prism.start('kvProbeWorkflow', [{ key: 'k', value: 'over tls' }], { pattern: 'kv-probe' });
      assert.equal(((await started.handle.result()) as { readBack: string }).readBack, 'over tls');
    } finally {
      await prism.close();
      assert.equal(await worker.stop(), 0);
    }
  });

  it('a missing TLS file is a config error naming the field', () => {
    assert.throws(
      () => temporalTlsOptions({ ca_file: '/nonexistent/ca.pem' }),
      /temporal\.tls\.ca_file: cannot read \/nonexistent\/ca\.pem: ENOENT/,
    );
  });
});
