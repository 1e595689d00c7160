// How a long activity tells its backend's guard that the backend answered, before the activity
// ends. The interceptor guards an activity as one call: a streaming or shipping round admitted as
// the circuit's half-open probe would otherwise keep the circuit half-open (every other call to the
// backend refused) for the whole round, minutes long.
import { AsyncLocalStorage } from 'node:async_hooks';

const probe = new AsyncLocalStorage<{ answered?: () => void }>();

/**
 * In an activity: its backend has answered (a stream opened, a first read returned). When the
 * activity was admitted as the half-open probe, the circuit closes now; otherwise nothing happens.
 * Call it only after a real answer from the backend: a timer's heartbeat is not one.
 */
export function backendAnswered(): void {
  const scope = probe.getStore();
  const answered = scope?.answered;
  if (scope) scope.answered = undefined;
  answered?.();
}

/** Runs `fn` (an activity execution) where backendAnswered() reaches the guard's probe, if any. */
export function withProbeScope<T>(fn: (onProbe: (answered: () => void) => void) => Promise<T>): Promise<T> {
  const scope: { answered?: () => void } = {};
  return probe.run(scope, () => fn((answered) => (scope.answered = answered)));
}
