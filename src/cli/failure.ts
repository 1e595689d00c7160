// A failure as a person needs to read it: every link of the cause chain, not just its top line
// ("Workflow execution failed"), e.g.
//   workflow orderSagaWorkflow (saga-o-1) failed
//     caused by: activity reserveStock failed
//     caused by: DriverTimeout: redis-a did not answer in 5000 ms
import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  TimeoutFailure,
  WorkflowFailedError,
} from '@temporalio/client';

function describeLink(err: unknown): string {
  if (err instanceof WorkflowFailedError) return 'workflow execution failed';
  if (err instanceof ActivityFailure)
    return err.activityType ? `activity ${err.activityType} failed` : 'activity failed';
  if (err instanceof ChildWorkflowFailure)
    return `child workflow ${err.execution.workflowId} (${err.workflowType}) failed`;
  if (err instanceof TimeoutFailure) return `timed out (${err.timeoutType ?? 'timeout'})`;
  if (err instanceof ApplicationFailure) return err.type ? `${err.type}: ${err.message}` : err.message;
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/** The error and its causes, one per line, the outermost first. */
export function describeFailure(err: unknown): string {
  const links: string[] = [];
  const seen = new Set<unknown>();
  for (let e: unknown = err; e !== undefined && e !== null && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    const text = describeLink(e);
    // A wrapper that already quotes its cause's message needs no second line for it.
    if (!links.some((l) => l.includes(text))) links.push(text);
  }
  return links.join('\n  caused by: ');
}
