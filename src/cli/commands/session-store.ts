// prism session …: the session store from the command line, through the same fast path as the
// client API (the topology comes from patterns.session-store.settings in the worker's config).
// Reads and writes talk to the shard backends only (a write is logged in its shard's change feed,
// which the worker's replication workflows ship to the other regions); `status` also asks Temporal.
// Every subcommand takes --config <file.yaml> (or PRISM_CONFIG) and --region <r> (the client's region).
import { Command } from 'commander';
import { loadConfig } from '../../config/load';
import type { PrismClient } from '../../client/prism-client';
import { SessionStore, type Session, type SessionValue } from '../../client/session-store';
import { collect, wholeNumber } from '../arguments';
import { act, examples, type CliContext } from '../command-kit';
import { UsageError } from '../io';
import { outputOption, print, recordLines, tableLines, type OutputFormat } from '../output';
import { connect, withTemporalOptions, type TemporalFlags } from '../temporal';

interface SessionFlags extends TemporalFlags {
  config?: string;
  region: string;
  output: OutputFormat;
}

function printable(value: SessionValue | undefined): unknown {
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString('base64') };
  return value;
}

type PrintableSession = Omit<Session, 'data'> & { data: Record<string, unknown> };

function printableSession(session: Session): PrintableSession {
  const data: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(session.data)) data[k] = printable(v);
  return { ...session, data };
}

function sessionLines(session: Session): string[] {
  const s = printableSession(session);
  return recordLines({
    session: s.sessionId,
    user: s.metadata.userId,
    client: s.metadata.clientId,
    home: s.metadata.region,
    attributes: s.metadata.attributes,
    created: new Date(s.createdAt),
    'last accessed': new Date(s.lastAccessed),
    expires: new Date(s.expiresAt),
    version: s.version,
    data: s.data,
  });
}

/** A session subcommand with the flags every one of them takes. */
function subcommand(name: string, description: string, example: string): Command {
  return withTemporalOptions(
    new Command(name)
      .description(description)
      .option('--config <file.yaml>', 'the worker config with the session-store topology (default: $PRISM_CONFIG)')
      .requiredOption('--region <region>', 'the region this client is in')
      .addOption(outputOption()),
  ).addHelpText('after', examples(`prism session ${example} --config config/demo.yaml --region eu`));
}

/** Opens the store (and, for `status`, Temporal to ask the replication workflows), runs `fn`, closes both. */
async function withStore<T>(
  flags: SessionFlags,
  withTemporal: boolean,
  fn: (store: SessionStore, temporal?: PrismClient) => Promise<T>,
): Promise<T> {
  const file = flags.config ?? process.env.PRISM_CONFIG;
  if (!file) throw new UsageError('session needs --config <file.yaml> (or PRISM_CONFIG)');
  const config = loadConfig(file);
  let temporal: PrismClient | undefined;
  if (withTemporal) temporal = await connect(flags, config);
  try {
    const store = await SessionStore.fromConfig(config, {
      region: flags.region,
      file,
      replication: temporal && { client: temporal.temporal, taskQueue: temporal.taskQueue, start: false },
    });
    try {
      return await fn(store, temporal);
    } finally {
      await store.close();
    }
  } finally {
    await temporal?.close();
  }
}

/** A subcommand whose result is a session (or a small object), printed per -o. */
function sessionAction(
  context: CliContext,
  run: (store: SessionStore, args: string[], command: Command) => Promise<Session | Record<string, unknown> | null>,
): (...args: unknown[]) => Promise<void> {
  return act(context, async (command) => {
    const flags = command.opts<SessionFlags>();
    await withStore(flags, false, async (store) => {
      const result = await run(store, command.processedArgs as string[], command);
      const isSession = result !== null && 'sessionId' in result && 'metadata' in result;
      const value = isSession ? printableSession(result as Session) : result;
      print(context.io, flags.output, value, () =>
        isSession ? sessionLines(result as Session) : recordLines(result ?? { value: null }),
      );
    });
  });
}

function parseValue(json: string): SessionValue {
  try {
    return JSON.parse(json) as SessionValue;
  } catch {
    throw new UsageError(`session set: value is not JSON: ${json}`);
  }
}

function attributes(pairs: string[]): Record<string, string> {
  const result: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new UsageError(`--attr ${pair}: expected key=value`);
    result[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return result;
}

export function sessionCommand(context: CliContext): Command {
  const session = new Command('session')
    .description('the session store: sessions with sliding TTL, sharded and replicated across regions')
    .addHelpText('after', examples('prism session create --config config/demo.yaml --region eu --user alice'));
  session.addCommand(
    subcommand('create', 'create a session', 'create --user alice --attr plan=pro')
      .requiredOption('--user <id>', 'the user the session belongs to')
      .option('--client <id>', 'the client (device, app) it is for')
      .option('--home <region>', 'its home region (default: --region)')
      .option('--ttl <seconds>', 'sliding TTL (default: settings.default_ttl_seconds)', wholeNumber)
      .option('--attr <key=value>', 'an attribute (repeatable)', collect, [])
      .action(
        sessionAction(context, async (store, _args, command) => {
          const f = command.opts<{ user: string; client?: string; home?: string; ttl?: number; attr: string[] }>();
          return store.createSession(
            { userId: f.user, clientId: f.client, region: f.home, attributes: attributes(f.attr) },
            { ttlSeconds: f.ttl },
          );
        }),
      ),
  );
  session.addCommand(
    subcommand('get', 'read a session (renews its TTL)', 'get <session-id>')
      .argument('<session-id>')
      .action(sessionAction(context, (store, [id]) => store.getSession(id))),
  );
  session.addCommand(
    subcommand('get-data', "read one key of a session's data", 'get-data <session-id> cart')
      .argument('<session-id>')
      .argument('<key>')
      .action(
        sessionAction(context, async (store, [id, key]) => ({
          key,
          value: printable(await store.getData(id, key)) ?? null,
        })),
      ),
  );
  session.addCommand(
    subcommand('set', "write one key of a session's data (a JSON value)", `set <session-id> cart '{"items":[3]}'`)
      .argument('<session-id>')
      .argument('<key>')
      .argument('<json>', 'the value as JSON')
      .action(sessionAction(context, (store, [id, key, json]) => store.setData(id, key, parseValue(json)))),
  );
  session.addCommand(
    subcommand('delete-data', "delete one key of a session's data", 'delete-data <session-id> cart')
      .argument('<session-id>')
      .argument('<key>')
      .action(sessionAction(context, async (store, [id, key]) => ({ deleted: await store.deleteData(id, key) }))),
  );
  session.addCommand(
    subcommand('delete', 'delete a session', 'delete <session-id>')
      .argument('<session-id>')
      .action(
        sessionAction(context, async (store, [id]) => {
          await store.deleteSession(id);
          return { deleted: true };
        }),
      ),
  );
  session.addCommand(
    subcommand('extend', "set a session's TTL from now", 'extend <session-id> 3600')
      .argument('<session-id>')
      .argument('<seconds>', 'the new TTL', wholeNumber)
      .action(
        sessionAction(context, (store, _args, command) => {
          const [id, seconds] = command.processedArgs as [string, number];
          return store.extend(id, seconds);
        }),
      ),
  );
  session.addCommand(
    subcommand('status', "a session's replication to the other regions", 'status <session-id>')
      .argument('<session-id>')
      .action(
        act(context, async (command) => {
          const flags = command.opts<SessionFlags>();
          const [id] = command.processedArgs as [string];
          await withStore(flags, true, async (store) => {
            const status = await store.replicationStatus(id);
            print(context.io, flags.output, status, () => [
              ...recordLines({
                session: id,
                'latest write': status.latestWrite === null ? null : new Date(status.latestWrite),
              }),
              '',
              ...tableLines(
                [
                  'region',
                  'shard',
                  'written at',
                  'in sync',
                  'shipped by',
                  'offset',
                  'last lag ms',
                  'max lag ms',
                  'resyncs',
                ],
                Object.entries(status.regions).map(([region, r]) => [
                  region,
                  r.shard,
                  r.writtenAt === null ? null : new Date(r.writtenAt),
                  r.inSync,
                  r.feed ? `${r.feed.shard} → ${r.feed.target} (${r.feed.phase})` : null,
                  r.feed?.offset ?? null,
                  r.feed?.lastLagMs ?? null,
                  r.feed?.maxLagMs ?? null,
                  r.feed?.resyncs ?? null,
                ]),
              ),
            ]);
          });
        }),
      ),
  );
  session.addCommand(
    subcommand('list', 'list sessions in a region, a page at a time', 'list --user alice')
      .option('--user <id>', "only this user's sessions")
      .option('--in <region>', 'the region to list (default: --region)')
      .option('--limit <n>', 'sessions per page (1..1000)', wholeNumber, 50)
      .option('--cursor <cursor>', 'the cursor a previous page returned')
      .action(
        act(context, async (command) => {
          const flags = command.opts<SessionFlags & { user?: string; in?: string; limit: number; cursor?: string }>();
          await withStore(flags, false, async (store) => {
            const page = await store.listSessions({
              userId: flags.user,
              region: flags.in,
              limit: flags.limit,
              cursor: flags.cursor,
            });
            const value = { sessions: page.sessions.map(printableSession), cursor: page.cursor };
            print(context.io, flags.output, value, () => [
              ...tableLines(
                ['session', 'user', 'home', 'expires', 'keys'],
                page.sessions.map((s) => [
                  s.sessionId,
                  s.metadata.userId,
                  s.metadata.region,
                  new Date(s.expiresAt),
                  Object.keys(s.data).join(',') || '-',
                ]),
              ),
              page.cursor === null ? `(${page.sessions.length} shown, end)` : `next: --cursor ${page.cursor}`,
            ]);
          });
        }),
      ),
  );
  return session;
}
