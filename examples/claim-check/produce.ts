// Step 8: a client starting the producer and redeeming what it published:
//   node dist/examples/claim-check/produce.js
import { PrismClient } from '../../src/index';
import type { Notice } from './claim';
import type { claimCheckProduceWorkflow, claimCheckRedeemWorkflow } from './workflow';

async function main(): Promise<void> {
  const client = await PrismClient.connect({ taskQueue: process.env.PRISM_TASK_QUEUE ?? 'claim-check-example' });
  try {
    const big = Buffer.alloc(4096, 'x').toString('base64');
    const produced = await client.start<typeof claimCheckProduceWorkflow>(
      'claimCheckProduceWorkflow',
      [
        {
          topic: 'claim-check-demo',
          messages: [
            { id: 'small', body: Buffer.from('hello').toString('base64') },
            { id: 'large', body: big },
          ],
        },
      ],
      { pattern: 'claim-check' },
    );
    process.stdout.write(`produced: ${JSON.stringify(await produced.handle.result())}\n${produced.uiUrl}\n`);
    const notice: Notice = { id: 'large', size: 4096, claim: 'claim-check/large' };
    const redeemed = await client.start<typeof claimCheckRedeemWorkflow>('claimCheckRedeemWorkflow', [notice], {
      pattern: 'claim-check',
    });
    const body = await redeemed.handle.result();
    process.stdout.write(`redeemed ${body === null ? 'nothing' : `${Buffer.from(body, 'base64').length} bytes`}\n`);
  } finally {
    await client.close();
  }
}

void main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
