// The Helm chart deploy/helm/prism-worker: scripts/helm-check (helm lint, then kubeconform -strict
// against offline Kubernetes schemas) passes on the defaults and with every option on, fails on
// values of the wrong type, and the rendered manifests do what the worker needs: the ConfigMap is
// a config the worker accepts, the probes and termination grace period match it, secrets come
// from Secrets.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/config/load';

const ROOT = resolve(__dirname, '../../..');
const HELM_CHECK = join(ROOT, 'scripts/helm-check');

function helmCheck(args: string[]): Promise<{ code: number | null; output: string; stdout: string }> {
  return new Promise((res) => {
    const proc = spawn(HELM_CHECK, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let output = '';
    proc.stdout.on('data', (d: Buffer) => ((stdout += d.toString()), (output += d.toString())));
    proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
    proc.once('exit', (code) => res({ code, output, stdout }));
  });
}

interface Manifest {
  kind: string;
  metadata: { name: string };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

async function render(args: string[] = []): Promise<Manifest[]> {
  const { code, output, stdout } = await helmCheck(['template', ...args]);
  assert.equal(code, 0, output);
  return parseAllDocuments(stdout)
    .map((doc) => doc.toJSON() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

const ALL_OPTIONS = [
  '--set',
  'serviceMonitor.enabled=true',
  '--set',
  'temporalTls.secretName=prism-temporal-mtls',
  '--set',
  'temporalTls.caKey=ca.crt',
  '--set',
  'temporalTls.serverName=temporal.example.com',
  '--set',
  'secretEnv[0].name=PRISM_REDIS_URL',
  '--set',
  'secretEnv[0].secretName=prism-backends',
  '--set',
  'secretEnv[0].key=redis-url',
  '--set',
  'secretFiles[0].secretName=prism-payload-keys',
  '--set',
  'secretFiles[0].mountPath=/etc/prism/keys',
];

describe('helm chart prism-worker', () => {
  it('lints and validates against the Kubernetes schemas with the default values', async () => {
    const { code, output } = await helmCheck([]);
    assert.equal(code, 0, output);
    assert.match(output, /Kubernetes 1\.30\.0: Summary: 5 resources found .* Valid: 5, Invalid: 0, Errors: 0/);
    assert.match(output, /Kubernetes 1\.37\.0: Summary: 5 resources found .* Valid: 5, Invalid: 0, Errors: 0/);
  });

  it('validates with every option on (ServiceMonitor, Temporal mTLS, secret env and files)', async () => {
    const { code, output } = await helmCheck(ALL_OPTIONS);
    assert.equal(code, 0, output);
    // The ServiceMonitor is rendered; it is the one kind without an offline schema.
    assert.match(output, /Valid: 5, Invalid: 0, Errors: 0, Skipped: 1/);
  });

  it('fails validation when a value has a type Kubernetes rejects', async () => {
    // An annotation must be a string: only the Kubernetes schema knows, helm lint does not.
    const { code, output } = await helmCheck(['--set', 'podAnnotations.team=7']);
    assert.equal(code, 1, output);
    assert.match(output, /annotations\/team': got number, want null or string/);
    assert.match(output, /manifests do not validate against Kubernetes 1\.30\.0/);
  });

  it("fails helm lint when a value breaks the chart's values schema", async () => {
    const { code, output } = await helmCheck(['--set', 'replicaCount=three']);
    assert.equal(code, 1, output);
    assert.match(output, /at '\/replicaCount': got string, want integer/);
  });

  it('renders a worker config the worker accepts, with probes and shutdown times that match it', async () => {
    const manifests = await render();
    const configMap = manifests.find((m) => m.kind === 'ConfigMap');
    assert.ok(configMap?.data?.['config.yaml'], 'a ConfigMap with config.yaml');
    const config = parseConfig(configMap.data['config.yaml'], 'configmap');
    assert.equal(config.worker.http_host, '0.0.0.0', 'probes reach the worker from outside the pod');
    assert.equal(config.worker.shutdown_grace_time, 30_000);
    assert.equal(config.worker.shutdown_force_time, 45_000);

    const deployment = manifests.find((m) => m.kind === 'Deployment');
    assert.ok(deployment?.spec);
    const spec = deployment.spec as {
      replicas: number;
      template: { spec: Record<string, unknown> & { containers: Record<string, unknown>[] } };
    };
    assert.equal(spec.replicas, 3);
    const pod = spec.template.spec;
    const [container] = pod.containers as Array<{
      ports: { name: string; containerPort: number }[];
      livenessProbe: { httpGet: { path: string; port: string } };
      readinessProbe: { httpGet: { path: string; port: string } };
      lifecycle: { preStop: { exec: { command: string[] } } };
      securityContext: { readOnlyRootFilesystem: boolean; allowPrivilegeEscalation: boolean };
    }>;
    assert.deepEqual(container.ports, [{ name: 'http', containerPort: config.worker.http_port, protocol: 'TCP' }]);
    assert.deepEqual(container.livenessProbe.httpGet, { path: '/health', port: 'http' });
    assert.deepEqual(container.readinessProbe.httpGet, { path: '/ready', port: 'http' });
    assert.match(container.lifecycle.preStop.exec.command.join(' '), /setTimeout\(\(\) => \{\}, 5000\)/);
    // preStop (5 s) + the worker's force deadline + a margin: Kubernetes never kills a draining worker first.
    assert.equal(pod.terminationGracePeriodSeconds, 5 + config.worker.shutdown_force_time / 1000 + 5);
    assert.equal((pod.securityContext as { runAsNonRoot: boolean }).runAsNonRoot, true);
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);

    const pdb = manifests.find((m) => m.kind === 'PodDisruptionBudget');
    assert.equal(pdb?.spec?.maxUnavailable, 1);
    assert.equal(
      manifests.some((m) => m.kind === 'ServiceMonitor'),
      false,
      'no ServiceMonitor by default',
    );
  });

  it('maps secret references to Secrets and fills temporal.tls from the mTLS Secret', async () => {
    const manifests = await render(ALL_OPTIONS);
    const configMap = manifests.find((m) => m.kind === 'ConfigMap');
    const config = parseConfig(configMap?.data?.['config.yaml'] ?? '', 'configmap');
    assert.deepEqual(config.temporal.tls, {
      cert_file: '/etc/prism/temporal-tls/tls.crt',
      key_file: '/etc/prism/temporal-tls/tls.key',
      ca_file: '/etc/prism/temporal-tls/ca.crt',
      server_name: 'temporal.example.com',
    });
    // The default config's Redis URL is an { env } reference: the variable comes from the Secret.
    assert.deepEqual(config.backends.cache.config.url, { env: 'PRISM_REDIS_URL' });
    const deployment = manifests.find((m) => m.kind === 'Deployment');
    const pod = (deployment?.spec as { template: { spec: Record<string, unknown> } }).template.spec;
    const [container] = pod.containers as Array<{
      env: unknown[];
      volumeMounts: { name: string; mountPath: string }[];
    }>;
    assert.deepEqual(container.env, [
      {
        name: 'PRISM_REDIS_URL',
        valueFrom: { secretKeyRef: { name: 'prism-backends', key: 'redis-url', optional: false } },
      },
    ]);
    const volumes = pod.volumes as { name: string; secret?: { secretName: string } }[];
    const mountOf = (secretName: string): string | undefined => {
      const volume = volumes.find((v) => v.secret?.secretName === secretName);
      return container.volumeMounts.find((m) => m.name === volume?.name)?.mountPath;
    };
    assert.equal(mountOf('prism-temporal-mtls'), '/etc/prism/temporal-tls');
    assert.equal(mountOf('prism-payload-keys'), '/etc/prism/keys');
    assert.ok(manifests.some((m) => m.kind === 'ServiceMonitor'));
  });
});
