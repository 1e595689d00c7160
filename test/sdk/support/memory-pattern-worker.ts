// A worker process running one test pattern on the memory driver, and a client on its task
// queue: the setup of the SDK's in-workflow tests (primitives, FanOutPool).
import { PrismClient } from '../../../src/index';
import { uniqueName } from '../../helpers/env';
import { startWorker, testConfig, type WorkerProcess } from '../../helpers/worker-process';

export class MemoryPatternWorker {
  readonly taskQueue: string;
  private worker: WorkerProcess | undefined;
  private prismClient: PrismClient | undefined;

  /** `pattern` binds its `store` slot to the memory backend; `main` is the worker entry module. */
  constructor(
    private readonly pattern: string,
    private readonly main: string,
  ) {
    this.taskQueue = uniqueName(pattern);
  }

  async start(): Promise<void> {
    this.worker = await startWorker(
      testConfig(this.taskQueue, {
        backends: { mem: { driver: 'memory' } },
        patterns: {
          [this.pattern]: {
            slots: { store: 'mem' },
            activity: { start_to_close_timeout: '10s', retry: { initial_interval: '100ms', maximum_attempts: 2 } },
          },
        },
      }),
      { main: this.main, readyTimeoutMs: 120_000 },
    );
    this.prismClient = await PrismClient.connect({ taskQueue: this.taskQueue });
  }

  get client(): PrismClient {
    if (!this.prismClient) throw new Error('MemoryPatternWorker: start() first');
    return this.prismClient;
  }

  async stop(): Promise<void> {
    await this.prismClient?.close();
    await this.worker?.stop();
  }
}
