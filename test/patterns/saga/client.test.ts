// The saga client: a bad input or definition is refused before anything starts (no failed
// execution left behind), naming the field; sagas are listed by the status their search attribute
// carries, and a started saga's live state is read through the typed query.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import { PrismClient } from '../../../src/client/prism-client';
import { SagaClient, SagaInputError } from '../../../src/client/saga';
import { uniqueName } from '../../helpers/env';
import { orderInput, sagaWorkerConfig } from '../../helpers/saga-env';
import { startWorker, type WorkerProcess } from '../../helpers/worker-process';

describe('saga client', () => {
  const taskQueue = uniqueName('saga-client');
  let worker: WorkerProcess;
  let prism: PrismClient;
  let sagas: SagaClient;

  before(async () => {
    worker = await startWorker(sagaWorkerConfig(taskQueue));
    prism = await PrismClient.connect({ taskQueue });
    sagas = new SagaClient(prism);
  });

  after(async () => {
    await prism?.close();
    await worker?.stop();
  });

  it('refuses a bad order input naming the field, and starts nothing', async () => {
    const workflowId = uniqueName('saga-refused');
    const bad = { ...orderInput(), quantity: -2, colour: 'blue' } as unknown as ReturnType<typeof orderInput>;
    await assert.rejects(sagas.startOrder(bad, { workflowId }), (err: Error) => {
      assert.ok(err instanceof SagaInputError);
      assert.match(err.message, /input\.quantity/);
      assert.match(err.message, /colour/);
      return true;
    });
    await assert.rejects(prism.handle(workflowId).describe(), WorkflowNotFoundError);
  });

  it('refuses a declarative definition with an unknown operation, naming the step', async () => {
    const definition = { name: 'x', steps: [{ name: 'reserve', slot: 'orders', op: 'keyvalue_basic.nope' }] };
    await assert.rejects(sagas.startDeclarative(definition, {}), (err: Error) => {
      assert.ok(err instanceof SagaInputError);
      assert.match(err.message, /definition\.steps\[0\]\.op: unknown operation "keyvalue_basic\.nope"/);
      return true;
    });
  });

  it('starts the order saga by reference: typed result, live state by query, listed by status', async () => {
    const input = orderInput();
    const started = await sagas.startOrder(input);
    const result = await started.handle.result();
    assert.equal(result.status, 'completed');
    assert.equal(result.sagaId, input.orderId);
    const state = await sagas.status(started.workflowId);
    assert.equal(state.status, 'completed');
    assert.deepEqual(Object.keys(state.steps).sort(), ['cache', 'charge', 'publish', 'reserve']);
    // Visibility is eventually consistent: the search attribute shows up shortly after.
    let listed: string | null | undefined;
    for (let i = 0; i < 50 && listed !== 'completed'; i++) {
      listed = (await sagas.list('completed', { limit: 200 })).find((s) => s.workflowId === started.workflowId)?.status;
      if (listed !== 'completed') await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(listed, 'completed');
  });
});
