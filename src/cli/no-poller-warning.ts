// `--wait` on a task queue no worker polls would wait forever in silence. After a few seconds
// without a result, ask Temporal who polls the queue (DescribeTaskQueue) and say so if nobody does.
import { temporal } from '@temporalio/proto';
import type { PrismClient } from '../client/prism-client';
import type { Io } from './io';

export const NO_POLLER_CHECK_AFTER_MS = 3000;

/** Workers polling the client's workflow task queue right now. */
export async function workflowPollers(client: PrismClient): Promise<number> {
  const response = await client.temporal.workflowService.describeTaskQueue({
    namespace: client.namespace,
    taskQueue: { name: client.taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return response.pollers?.length ?? 0;
}

/** Warns on stderr if no worker polls the task queue once `afterMs` passed; returns a cancel function. */
export function warnIfNoWorker(client: PrismClient, io: Io, afterMs = NO_POLLER_CHECK_AFTER_MS): () => void {
  let cancelled = false;
  const timer = setTimeout(() => {
    void workflowPollers(client).then(
      (count) => {
        if (count === 0 && !cancelled) {
          io.err(
            `prism: warning: no worker is polling task queue "${client.taskQueue}" (namespace ` +
              `"${client.namespace}"); the workflow waits until one starts (prism worker --config <file>)`,
          );
        }
      },
      () => undefined, // the check is advice; a failure to ask must not fail the command
    );
  }, afterMs);
  return () => {
    cancelled = true;
    clearTimeout(timer);
  };
}

/** Awaits `work`, warning meanwhile if no worker picks it up. */
export async function waitWatched<T>(client: PrismClient, io: Io, work: Promise<T>): Promise<T> {
  const cancel = warnIfNoWorker(client, io);
  try {
    return await work;
  } finally {
    cancel();
  }
}
