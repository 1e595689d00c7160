// One structured log line per driver call, with the workflow, the activity and the backend:
// debug when it succeeds (a fan-out makes thousands), warn when it fails. Arguments and values
// are never logged: they may hold user data or secrets.
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type { Logger } from './logger';

export function activityLogging(logger: Logger, backend: string): ActivityInterceptorsFactory {
  return (ctx) => ({
    inbound: {
      async execute(input, next) {
        const info = ctx.info;
        const fields = {
          backend,
          workflowId: info.workflowExecution?.workflowId,
          runId: info.workflowExecution?.runId,
          activityId: info.activityId,
          activity: info.activityType,
          attempt: info.attempt,
        };
        const start = performance.now();
        try {
          const result = await next(input);
          logger.debug('driver call', { ...fields, status: 'ok', durationMs: Math.round(performance.now() - start) });
          return result;
        } catch (err) {
          const failure = err as { type?: string; message?: string };
          logger.warn('driver call failed', {
            ...fields,
            status: 'error',
            errorType: failure.type ?? (err as Error).name,
            error: failure.message,
            durationMs: Math.round(performance.now() - start),
          });
          throw err;
        }
      },
    },
  });
}
