// The guide's example (docs/writing-a-pattern.md, examples/claim-check): its pure logic, its
// config, and the pattern end to end on Redis (payloads) and NATS (notices).
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { natsDriver } from '../../src/drivers/nats';
import { redisDriver } from '../../src/drivers/redis';
import { Worker } from '@temporalio/worker';
import {
  loadConfig,
  PAYLOAD_CONVERTER,
  PrismClient,
  type Driver,
  type PubSubMessage,
  type Subscription,
} from '../../src/index';
import { decodeNotice, encodeNotice, inlinePayload, planNotice, type Notice } from '../../examples/claim-check/claim';
import type { ProduceResult } from '../../examples/claim-check/input';
import { stackEnv, uniqueName } from '../helpers/env';
import { startWorker, testConfig, waitFor, type WorkerProcess } from '../helpers/worker-process';

const EXAMPLE = resolve(__dirname, '../../examples/claim-check');
const SOURCE_EXAMPLE = resolve(__dirname, '../../../examples/claim-check');

describe('claim-check example: pure logic', () => {
  it('inlines payloads up to the threshold and checks larger ones in', () => {
    const small = planNotice('a', new Uint8Array(10), 10, 'p/');
    const large = planNotice('b', new Uint8Array(11), 10, 'p/');
    assert.deepEqual(small, { id: 'a', size: 10, inline: 'AAAAAAAAAAAAAA==' });
    assert.deepEqual(large, { id: 'b', size: 11, claim: 'p/b' });
    assert.deepEqual(inlinePayload(small), new Uint8Array(10));
    assert.equal(inlinePayload(large), null);
  });

  it('round-trips notices and refuses anything else', () => {
    const notice: Notice = { id: 'x', size: 3, claim: 'p/x' };
    assert.deepEqual(decodeNotice(encodeNotice(notice)), notice);
    assert.throws(() => decodeNotice(new TextEncoder().encode('{"id":1}')), /not a claim-check notice/);
  });

  it("the guide's prism.yaml is a valid config", () => {
    const config = loadConfig(resolve(SOURCE_EXAMPLE, 'prism.yaml'));
    assert.deepEqual(config.patterns['claim-check'].slots, { payloads: 'redis', notices: 'nats' });
  });
});

describe('claim-check example: end to end on Redis + NATS', () => {
  const taskQueue = uniqueName('sdk-example');
  const topic = uniqueName('claims');
  const keyPrefix = `${uniqueName('claim')}/`;
  let worker: WorkerProcess;
  let client: PrismClient;
  let redis: Driver;
  let nats: Driver;
  let subscription: Subscription;
  const received: PubSubMessage[] = [];

  before(async () => {
    redis = await redisDriver.create(redisDriver.configSchema.parse({ url: stackEnv.redisUrl }), { backend: 'test' });
    nats = await natsDriver.create(natsDriver.configSchema.parse({ servers: stackEnv.natsUrl }), { backend: 'test' });
    subscription = await nats.subscribe!(topic, (m) => received.push(m));
    worker = await startWorker(
      testConfig(taskQueue, {
        backends: {
          redis: { driver: 'redis', config: { url: stackEnv.redisUrl } },
          nats: { driver: 'nats', config: { servers: stackEnv.natsUrl } },
        },
        patterns: {
          'claim-check': {
            slots: { payloads: 'redis', notices: 'nats' },
            activity: { start_to_close_timeout: '10s', retry: { initial_interval: '200ms', maximum_attempts: 5 } },
          },
        },
      }),
      { main: resolve(EXAMPLE, 'worker.js'), readyTimeoutMs: 120_000 },
    );
    client = await PrismClient.connect({ taskQueue });
  });

  after(async () => {
    await subscription?.unsubscribe();
    await client?.close();
    await worker?.stop();
    await redis?.close();
    await nats?.close();
  });

  it('publishes a notice per message, checks large payloads into Redis, and redeems a claim once', async () => {
    const bodies = new Map<string, Uint8Array>();
    for (let i = 0; i < 12; i++) bodies.set(`m${i}`, new Uint8Array(i % 3 === 0 ? 2000 : 100).fill(65 + i));
    const messages = [...bodies].map(([id, body]) => ({ id, body: Buffer.from(body).toString('base64') }));

    const produced = await client.start('claimCheckProduceWorkflow', [{ topic, messages, keyPrefix }], {
      pattern: 'claim-check',
    });
    const result = (await produced.handle.result()) as ProduceResult;
    assert.deepEqual(result, { inline: 8, checkedIn: 4, failed: [] });

    await waitFor('12 notices', async () => received.length >= 12);
    const notices = received.map((m) => decodeNotice(m.payload));
    assert.deepEqual(notices.map((n) => n.id).sort(), [...bodies.keys()].sort());
    for (const notice of notices) {
      const expected = bodies.get(notice.id)!;
      const inline = inlinePayload(notice);
      const stored = inline ?? (await redis.get!((notice as { claim: string }).claim));
      assert.ok(stored && Buffer.from(stored).equals(expected), `payload of ${notice.id}`);
    }

    const claimed = notices.find((n) => 'claim' in n)!;
    const redeem = async () => {
      const started = await client.start('claimCheckRedeemWorkflow', [claimed], { pattern: 'claim-check' });
      return (await started.handle.result()) as string | null;
    };
    assert.deepEqual(Buffer.from((await redeem())!, 'base64'), Buffer.from(bodies.get(claimed.id)!));
    assert.equal(await redeem(), null, 'a claim check is redeemed once');
    assert.equal(await redis.exists!((claimed as { claim: string }).claim), false);

    // Determinism: the producer's recorded history replays against the example's workflow code.
    await Worker.runReplayHistory(
      {
        workflowsPath: require.resolve('../../examples/claim-check/workflow'),
        dataConverter: { payloadConverterPath: PAYLOAD_CONVERTER },
      },
      await produced.handle.fetchHistory(),
      produced.workflowId,
    );
  });
});
