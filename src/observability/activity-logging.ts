// One structured log line per driver call, with the workflow, the activity and the backend:
// debug when it succeeds (a fan-out makes thousands), warn when it fails. Arguments and values
// are never logged: they may hold user data or secrets. The line's fields are built only when it
// is written: this runs around every activity, and at the default level a success writes nothing.
import type { Info } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type { LogFields, Logger } from './logger';

export function activityLogging(logger: Logger, backend: string): ActivityInterceptorsFactory {
  // Fields are added to one object, not spread into a new one: a spread costs microseconds on Node 20.
  const fields = (info: Info, start: number, failure?: { errorType: unknown; error: unknown }): LogFields => {
    const line: LogFields = {
      backend,
      workflowId: info.workflowExecution?.workflowId,
      runId: info.workflowExecution?.runId,
      activityId: info.activityId,
      activity: info.activityType,
      attempt: info.attempt,
      status: failure ? 'error' : 'ok',
    };
    if (failure) {
      line.errorType = failure.errorType;
      line.error = failure.error;
    }
    line.durationMs = Math.round(performance.now() - start);
    return line;
  };
  return (ctx) => ({
    inbound: {
      async execute(input, next) {
        const start = performance.now();
        try {
          const result = await next(input);
          if (logger.enabled?.('debug') ?? true) logger.debug('driver call', fields(ctx.info, start));
          return result;
        } catch (err) {
          const failure = err as { type?: string; message?: string };
          logger.warn(
            'driver call failed',
            fields(ctx.info, start, { errorType: failure.type ?? (err as Error).name, error: failure.message }),
          );
          throw err;
        }
      },
    },
  });
}
