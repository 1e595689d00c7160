// Declarative sagas on the real stack: the shipped example runs to completion, a parallel group
// with one failing branch compensates the branch that completed and the steps before it, and bad
// definitions are refused by the workflow and by the CLI before anything starts.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { PrismClient } from '../../../src/client/prism-client';
import type { OrderSagaInput } from '../../../src/workflows/saga/input';
import type { SagaResult } from '../../../src/workflows/saga/run-saga';
import { uniqueName } from '../../helpers/env';
import { orderInput, SagaBackends, sagaWorkerConfig } from '../../helpers/saga-env';
import { DIST_ROOT, runProcess, startWorker, writeConfig, type WorkerProcess } from '../../helpers/worker-process';

const EXAMPLES = resolve(DIST_ROOT, '../examples/saga');
const CLI = join(DIST_ROOT, 'src/cli/main.js');
const definition = (): unknown => parse(readFileSync(join(EXAMPLES, 'order.yaml'), 'utf8'));

// The shipped declarative example charges more than the typed saga's default order.
const input = (extra: Partial<OrderSagaInput> = {}): OrderSagaInput =>
  orderInput({ amount: 2400, openingStock: 100, openingBalance: 100_000, ...extra }, 'decl');

describe('declarative sagas', () => {
  const taskQueue = uniqueName('saga-decl');
  let worker: WorkerProcess;
  let client: PrismClient;
  let backends: SagaBackends;

  before(async () => {
    worker = await startWorker(sagaWorkerConfig(taskQueue));
    client = await PrismClient.connect({ taskQueue });
    backends = new SagaBackends();
  });

  after(async () => {
    await client?.close();
    await backends?.close();
    await worker?.stop();
  });

  async function run(args: Record<string, unknown>): Promise<SagaResult> {
    const started = await client.start('declarativeSagaWorkflow', [args], { pattern: 'saga' });
    return (await started.handle.result()) as SagaResult;
  }

  it('runs the shipped order definition: templates from input and earlier results reach the backends', async () => {
    const i = input();
    const result = await run({ definition: definition(), input: i });
    assert.equal(result.status, 'completed');
    assert.equal(await backends.stock(i.sku as string), 98);
    assert.equal(await backends.balance(i.customer as string), 97_600);
    const record = await backends.kvText(`saga:record:${i.orderId as string}`);
    assert.deepEqual(JSON.parse(record!), { orderId: i.orderId, stockLeft: 98 });
    assert.deepEqual(JSON.parse((await backends.cached(i.orderId as string))!), { sku: i.sku, charged: 97_600 });
    assert.equal(await backends.eventCount(i.topic as string), 1);
  });

  it('a parallel group with one failing branch: the completed branch and earlier steps are compensated', async () => {
    // charge is declined (balance too low) while record, its sibling, completes.
    const i = input({ openingBalance: 100 });
    const result = await run({ definition: definition(), input: i });
    assert.equal(result.status, 'compensated');
    assert.equal(result.failure?.step, 'charge');
    assert.match(result.failure?.error ?? '', /PaymentDeclined/);
    assert.deepEqual(Object.fromEntries(Object.entries(result.steps).map(([k, v]) => [k, v.status])), {
      reserve: 'compensated',
      charge: 'failed',
      record: 'compensated',
      publish: 'pending',
      cache: 'pending',
    });
    assert.equal(await backends.stock(i.sku as string), 100);
    assert.equal(await backends.kvText(`saga:record:${i.orderId as string}`), null);
    assert.equal(await backends.eventCount(i.topic as string), 0);
  });

  it('the workflow refuses an invalid definition with a non-retryable failure naming the field', async () => {
    const bad = { name: 'x', steps: [{ name: 'a', slot: 'ledger', op: 'keyvalue_basic.set' }] };
    const started = await client.start('declarativeSagaWorkflow', [{ definition: bad, input: {} }], {
      pattern: 'saga',
    });
    await assert.rejects(started.handle.result(), (err: Error) => {
      const cause = (err as { cause?: { type?: string; message?: string } }).cause;
      assert.equal(cause?.type, 'InvalidSaga');
      assert.match(cause?.message ?? '', /definition\.steps\[0\]\.slot: unknown slot "ledger"/);
      return true;
    });
  });

  it('the CLI refuses invalid definitions before starting, naming each field', async () => {
    const bad = {
      name: 'bad',
      steps: [
        { name: 'a', slot: 'orders', op: 'keyvalue_basic.frobnicate', args: ['${input.missing}'] },
        { name: 'a', slot: 'orders', op: 'keyvalue_basic.get', args: ['${steps.b.result}'] },
        { name: 'b', slot: 'nowhere', op: 'x' },
      ],
    };
    const file = writeConfig(JSON.stringify(bad));
    const r = await runProcess([CLI, 'saga', 'start', '--definition', file, '--input', '{"id":1}']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /definition\.steps\[0\]\.op: unknown operation "keyvalue_basic\.frobnicate"/);
    assert.match(r.stderr, /definition\.steps\[0\]\.args: \$\{input\.missing\} refers to a missing value/);
    assert.match(r.stderr, /definition\.steps\[1\] "a": duplicate step name/);
    assert.match(r.stderr, /definition\.steps\[2\]\.slot: unknown slot "nowhere"/);
  });

  it('the CLI starts the order example and the declarative example, and shows a saga status', async () => {
    process.env.PRISM_TASK_QUEUE = taskQueue; // runProcess passes this process's environment on
    const dir = join(writeConfig('{}'), '..');
    const orderFile = join(dir, 'order.json');
    const declFile = join(dir, 'decl.json');
    writeFileSync(orderFile, JSON.stringify(input()));
    writeFileSync(declFile, JSON.stringify(input()));
    const id = uniqueName('cli-order');
    const order = await runProcess([CLI, 'saga', 'start', 'order', '--input', `@${orderFile}`, '--id', id, '--wait']);
    assert.equal(order.code, 0, order.stderr);
    assert.match(order.stdout, /status: +completed/);
    const status = await runProcess([CLI, 'saga', 'status', id, '-o', 'json']);
    assert.equal(status.code, 0, status.stderr);
    assert.equal((JSON.parse(status.stdout) as { status: string }).status, 'completed');
    const decl = await runProcess([
      CLI,
      'saga',
      'start',
      '--definition',
      join(EXAMPLES, 'order.yaml'),
      '--input',
      `@${declFile}`,
      '--wait',
    ]);
    assert.equal(decl.code, 0, decl.stderr);
    assert.match(decl.stdout, /status: +completed/);
  });
});
