// What every part of the postgres driver shares: the pool, the config, error mapping and the
// lazily created schema.
import { readFileSync } from 'node:fs';
import type { ClientConfig, Pool, PoolClient, QueryResult, QueryResultRow } from 'pg';
import { DriverError, isDriverError } from '../errors';
import type { Limits } from '../limits';
import type { DriverContext } from '../registry';
import type { PostgresConfig } from './config';
import { toDriverError } from './pg-errors';
import { ensurePart, tableNames, type SchemaPart, type TableNames } from './schema';
import { DRIVER } from './sql';

/** Connection options for the pool and for dedicated clients (LISTEN). */
export function clientConfig(config: PostgresConfig, context: DriverContext): ClientConfig {
  const options: ClientConfig = {
    connectionString: config.url,
    connectionTimeoutMillis: config.connectTimeoutMs,
    application_name: `prism/${context.backend}`.slice(0, 63),
  };
  if (config.statementTimeoutMs > 0) options.statement_timeout = config.statementTimeoutMs;
  if (config.tls) {
    const read = (what: string, path: string | undefined): string | undefined => {
      if (path === undefined) return undefined;
      try {
        return readFileSync(path, 'utf8');
      } catch (err) {
        throw new DriverError(DRIVER, 'InvalidArgument', `cannot read tls.${what} file ${path}`, { cause: err });
      }
    };
    options.ssl = {
      ca: read('ca', config.tls.ca),
      cert: read('cert', config.tls.cert),
      key: read('key', config.tls.key),
      servername: config.tls.servername,
      rejectUnauthorized: config.tls.rejectUnauthorized,
    };
  }
  return options;
}

export class PgContext {
  readonly tables: TableNames;
  private closed = false;
  private readonly parts = new Map<SchemaPart, Promise<void>>();
  private readonly partListeners: { part: SchemaPart; ready: () => void }[] = [];

  constructor(
    readonly pool: Pool,
    readonly config: PostgresConfig,
    readonly limits: Limits,
    readonly connection: ClientConfig,
  ) {
    this.tables = tableNames(config);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  markClosed(): void {
    this.closed = true;
  }

  assertOpen(): void {
    if (this.closed) throw new DriverError(DRIVER, 'Unavailable', 'the driver is closed');
  }

  async query<R extends QueryResultRow = QueryResultRow>(
    action: string,
    text: string,
    values?: unknown[],
  ): Promise<QueryResult<R>> {
    this.assertOpen();
    try {
      return await this.pool.query<R>(text, values);
    } catch (err) {
      throw toDriverError(err, action);
    }
  }

  /** Runs fn on one pooled connection; a connection that failed mid-use is discarded. */
  async withClient<T>(action: string, fn: (client: PoolClient) => Promise<T>): Promise<T> {
    this.assertOpen();
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw toDriverError(err, action);
    }
    let failure: Error | undefined;
    try {
      return await fn(client);
    } catch (err) {
      // A SQL error leaves the connection usable; anything else (socket, protocol) does not.
      if (!isDriverError(err) && !(err instanceof Error && 'severity' in err))
        failure = err instanceof Error ? err : new Error(String(err));
      throw toDriverError(err, action);
    } finally {
      client.release(failure);
    }
  }

  /** Runs fn inside BEGIN/COMMIT on one connection; rolls back on error. */
  transaction<T>(action: string, fn: (client: PoolClient) => Promise<T>): Promise<T> {
    return this.withClient(action, async (client) => {
      await client.query('BEGIN');
      try {
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  /** Creates the tables of a part on first use (once per driver instance, retried after failure). */
  ensure(part: SchemaPart): Promise<void> {
    this.assertOpen();
    let pending = this.parts.get(part);
    if (!pending) {
      pending = ensurePart(this.pool, this.config, part).then(
        () => {
          for (const listener of this.partListeners) if (listener.part === part) listener.ready();
        },
        (err: unknown) => {
          this.parts.delete(part);
          throw toDriverError(err, `creating the ${part} tables`);
        },
      );
      this.parts.set(part, pending);
    }
    return pending;
  }

  /**
   * Runs statement every sweepIntervalMs (0 disables it) until the driver closes or the returned
   * timer is cleared: background deletion of rows reads already ignore (expired keys, old changes).
   */
  sweepEvery(action: string, statement: string): NodeJS.Timeout | undefined {
    const interval = this.config.sweepIntervalMs;
    if (interval <= 0 || this.closed) return undefined;
    const timer = setInterval(() => {
      if (this.closed) return;
      this.query(action, statement).catch(() => undefined);
    }, interval);
    timer.unref();
    return timer;
  }

  /** Calls ready once the part's tables exist (e.g. to start a sweeper). */
  onPartReady(part: SchemaPart, ready: () => void): void {
    this.partListeners.push({ part, ready });
  }
}
