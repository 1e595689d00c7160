// prism session …: the session store from the command line, through the same fast path as the
// client API (the topology comes from patterns.session-store.settings in the worker's config).
//   prism session create --user U [--client C] [--home REGION] [--ttl S] [--attr k=v …]
//   prism session get <id> | get-data <id> <key> | set <id> <key> <json> | delete-data <id> <key>
//   prism session delete <id> | extend <id> <seconds> | status <id>
//   prism session list [--user U] [--in REGION] [--limit N] [--cursor C]
// Every subcommand takes --config <file.yaml> (or PRISM_CONFIG) and --region <r> (the client's region).
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/load';
import { PrismClient } from '../../client/prism-client';
import { SessionStore, type Session, type SessionValue } from '../../client/session-store';
import { UsageError, type Command } from '../io';

const WRITES = new Set(['create', 'set', 'delete-data', 'delete', 'extend', 'status']);

function printable(value: SessionValue | undefined): unknown {
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString('base64') };
  return value;
}

function printSession(session: Session): string {
  const data: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(session.data)) data[k] = printable(v);
  return JSON.stringify({ ...session, data });
}

function args(positionals: string[], count: number, usage: string): string[] {
  if (positionals.length !== count) throw new UsageError(`session ${usage}`);
  return positionals;
}

export const sessionCommand: Command = async (argv, io) => {
  const [sub, ...rest] = argv;
  if (sub === undefined) throw new UsageError('session needs a subcommand: create, get, get-data, set, …');
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      region: { type: 'string' },
      user: { type: 'string' },
      client: { type: 'string' },
      home: { type: 'string' },
      ttl: { type: 'string' },
      attr: { type: 'string', multiple: true },
      in: { type: 'string' },
      limit: { type: 'string' },
      cursor: { type: 'string' },
    },
  });
  const file = values.config ?? process.env.PRISM_CONFIG;
  if (!file) throw new UsageError('session needs --config <file.yaml> (or PRISM_CONFIG)');
  if (!values.region) throw new UsageError('session needs --region <the region this client is in>');
  const config = loadConfig(file);
  const temporal = WRITES.has(sub) ? await PrismClient.connect({ config }) : undefined;
  const store = await SessionStore.fromConfig(config, {
    region: values.region,
    file,
    replication: temporal && { client: temporal.temporal, taskQueue: temporal.taskQueue },
  });
  try {
    switch (sub) {
      case 'create': {
        if (!values.user) throw new UsageError('session create needs --user <id>');
        const attributes: Record<string, string> = {};
        for (const pair of values.attr ?? []) {
          const eq = pair.indexOf('=');
          if (eq < 1) throw new UsageError(`--attr ${pair}: expected key=value`);
          attributes[pair.slice(0, eq)] = pair.slice(eq + 1);
        }
        const session = await store.createSession(
          { userId: values.user, clientId: values.client, region: values.home, attributes },
          { ttlSeconds: values.ttl === undefined ? undefined : Number(values.ttl) },
        );
        io.out(printSession(session));
        return 0;
      }
      case 'get':
        io.out(printSession(await store.getSession(args(positionals, 1, 'get <id>')[0])));
        return 0;
      case 'get-data': {
        const [id, key] = args(positionals, 2, 'get-data <id> <key>');
        io.out(JSON.stringify(printable(await store.getData(id, key)) ?? null));
        return 0;
      }
      case 'set': {
        const [id, key, json] = args(positionals, 3, 'set <id> <key> <json>');
        let value: SessionValue;
        try {
          value = JSON.parse(json) as SessionValue;
        } catch {
          throw new UsageError(`session set: value is not JSON: ${json}`);
        }
        io.out(printSession(await store.setData(id, key, value)));
        return 0;
      }
      case 'delete-data': {
        const [id, key] = args(positionals, 2, 'delete-data <id> <key>');
        io.out(JSON.stringify({ deleted: await store.deleteData(id, key) }));
        return 0;
      }
      case 'delete':
        await store.deleteSession(args(positionals, 1, 'delete <id>')[0]);
        io.out(JSON.stringify({ deleted: true }));
        return 0;
      case 'extend': {
        const [id, seconds] = args(positionals, 2, 'extend <id> <seconds>');
        io.out(printSession(await store.extend(id, Number(seconds))));
        return 0;
      }
      case 'list': {
        args(positionals, 0, 'list takes no positional arguments');
        const page = await store.listSessions({
          userId: values.user,
          region: values.in,
          limit: values.limit === undefined ? undefined : Number(values.limit),
          cursor: values.cursor,
        });
        for (const s of page.sessions) io.out(printSession(s));
        io.out(JSON.stringify({ cursor: page.cursor }));
        return 0;
      }
      case 'status': {
        const id = args(positionals, 1, 'status <id>')[0];
        const status = await store.replicationStatus(id);
        io.out(JSON.stringify(status));
        if (temporal) io.out(`ui: ${temporal.uiUrl(`session-replication-${id}`)}`);
        return 0;
      }
      default:
        throw new UsageError(`unknown session subcommand "${sub}"`);
    }
  } finally {
    await store.close();
    await temporal?.close();
  }
};
