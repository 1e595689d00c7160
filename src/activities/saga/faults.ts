// Test-only failure injection for the order example: an activity given a Fault fails the first
// `times` calls (counted per worker process) and can pause after applying its effect, so tests
// can kill a worker between "applied" and "reported".
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Fault } from '../../workflows/saga/order-types';

const calls = new Map<string, number>();

export const INJECTED_FAULT = 'InjectedFault';

/** Throws a retryable InjectedFault while the fault still has calls to fail. */
export function failIfInjected(fault: Fault | undefined, key: string, operation: string): void {
  if (!fault || (fault.times === undefined && fault.pauseAfterApplyMs !== undefined)) return;
  const id = `${key}:${operation}`;
  const n = (calls.get(id) ?? 0) + 1;
  calls.set(id, n);
  if (fault.times === undefined || n <= fault.times) {
    throw ApplicationFailure.retryable(`injected fault in ${operation} (call ${n})`, INJECTED_FAULT);
  }
}

/** Waits (heartbeating) after the effect, on the first attempt only. */
export async function pauseIfInjected(fault: Fault | undefined): Promise<void> {
  if (!fault?.pauseAfterApplyMs) return;
  const ctx = Context.current();
  if (ctx.info.attempt > 1) return;
  const until = Date.now() + fault.pauseAfterApplyMs;
  while (Date.now() < until) {
    ctx.heartbeat();
    await ctx.sleep(Math.min(200, until - Date.now()));
  }
}
