// pg pools the CDC activities open themselves (outbox polling, slot lag), one per URL per process.
// The postgres driver exposes capability operations only; see the pattern's notes on sql_query.
import type { Pool } from 'pg';

const pools = new Map<string, Pool>();

export function poolFor(url: string): Pool {
  let pool = pools.get(url);
  if (!pool) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- pg is an optional peer
    const pg = require('pg') as typeof import('pg');
    // allowExitOnIdle: the worker's shutdown does not know about this pool.
    pool = new pg.Pool({ connectionString: url, max: 4, idleTimeoutMillis: 10_000, allowExitOnIdle: true });
    pool.on('error', () => undefined);
    pools.set(url, pool);
  }
  return pool;
}

export function databaseOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
    return name || undefined;
  } catch {
    return undefined;
  }
}
