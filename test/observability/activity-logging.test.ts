import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Context as ActivityContext } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityExecuteInput } from '@temporalio/worker';
import { activityLogging } from '../../src/observability/activity-logging';
import { createLogger, type LogLevel } from '../../src/observability/logger';

const ctx = {
  info: {
    activityType: 'kvGet',
    activityId: '7',
    attempt: 2,
    workflowExecution: { workflowId: 'wf-1', runId: 'run-1' },
  },
} as unknown as ActivityContext;
const input: ActivityExecuteInput = { args: [], headers: {} };

function run(level: LogLevel, next: () => Promise<unknown>) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger(level, {}, (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  const outcome = activityLogging(logger, 'cache')(ctx).inbound!.execute!(input, next);
  return { lines, outcome };
}

const who = { backend: 'cache', workflowId: 'wf-1', runId: 'run-1', activityId: '7', activity: 'kvGet', attempt: 2 };

describe('activityLogging', () => {
  it('logs a successful call at debug with the workflow, activity and backend', async () => {
    const { lines, outcome } = run('debug', async () => 'value');
    assert.equal(await outcome, 'value');
    assert.equal(lines.length, 1);
    const { ts, durationMs, ...line } = lines[0];
    assert.equal(typeof ts, 'string');
    assert.equal(typeof durationMs, 'number');
    assert.deepEqual(line, { level: 'debug', msg: 'driver call', ...who, status: 'ok' });
  });

  it('writes nothing for a success above debug, and a warning for a failure', async () => {
    const quiet = run('info', async () => 'value');
    assert.equal(await quiet.outcome, 'value');
    assert.deepEqual(quiet.lines, []);
    const logger = createLogger('info', {}, () => undefined);
    assert.deepEqual(
      [logger.enabled?.('debug'), logger.enabled?.('info'), logger.enabled?.('warn')],
      [false, true, true],
    );

    const failure = ApplicationFailure.retryable('connection refused', 'DriverUnavailable');
    const failed = run('info', () => Promise.reject(failure));
    await assert.rejects(failed.outcome, (e) => e === failure);
    assert.equal(failed.lines.length, 1);
    const { ts: _ts, durationMs, ...line } = failed.lines[0];
    assert.equal(typeof durationMs, 'number');
    assert.deepEqual(line, {
      level: 'warn',
      msg: 'driver call failed',
      ...who,
      status: 'error',
      errorType: 'DriverUnavailable',
      error: 'connection refused',
    });
  });
});
