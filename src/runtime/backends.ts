// Opens the backends a worker's config uses (only those: each driver loads its client library on
// open) through the worker's BackendPool, and checks that every instance offers what its slots need.
import type { PrismConfig } from '../config/schema';
import type { SlotMatch } from '../sdk/slot-match';
import { checkInstanceCapabilities } from './slot-matcher';
import type { BackendHandle } from './backend-handle';
import type { BackendPool } from './backend-pool';

export class StartupError extends Error {
  constructor(readonly problems: string[]) {
    super(`cannot start:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'StartupError';
  }
}

export async function openBackends(
  config: PrismConfig,
  matches: readonly SlotMatch[],
  pool: BackendPool,
): Promise<Map<string, BackendHandle>> {
  const used = [...new Set(matches.map((m) => m.backend))];
  const handles = new Map<string, BackendHandle>();
  const problems: string[] = [];
  await Promise.all(
    used.map(async (backend) => {
      const backendConfig = config.backends[backend];
      try {
        handles.set(backend, await pool.open(backend, backendConfig));
      } catch (err) {
        problems.push(
          `backends.${backend}: cannot create the ${backendConfig.driver} driver: ${(err as Error).message}`,
        );
      }
    }),
  );
  for (const match of matches) {
    const handle = handles.get(match.backend);
    if (!handle) continue;
    const problem = checkInstanceCapabilities(match, handle.capabilities);
    if (problem) problems.push(problem);
  }
  if (problems.length > 0) {
    await closeBackends(handles);
    throw new StartupError(problems);
  }
  return handles;
}

export async function closeBackends(handles: ReadonlyMap<string, BackendHandle>): Promise<void> {
  await Promise.all([...handles.values()].map((handle) => handle.close()));
}
