// Starts one execution of each example workflow against the demo worker and prints links to
// them in the Temporal UI.
import { PrismClient } from '../src/client/prism-client';

async function main(): Promise<void> {
  const client = await PrismClient.connect();
  try {
    const probe = await client.start('kvProbeWorkflow', [{ key: 'demo:hello', value: 'hello from prism' }], {
      pattern: 'kv-probe',
    });
    const result = await probe.handle.result();
    process.stdout.write(`kv-probe      ${probe.uiUrl}\n              result: ${JSON.stringify(result)}\n`);
    process.stdout.write(`\nAll executions: ${client.uiBase}/namespaces/${client.namespace}/workflows\n`);
    process.stdout.write('Stop the demo worker with: scripts/demo stop\n');
  } finally {
    await client.close();
  }
}

void main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${(err as Error).message}\n`);
  process.exit(1);
});
