// prism multicast: the multicast registry from the command line. Registry and inbox operations run
// as short operation workflows (the CLI talks only to Temporal); send starts a multicast workflow.
//   prism multicast register <identity> [--metadata <json>] [--ttl <seconds>] [--replace]
//   prism multicast heartbeat <identity> [--ttl <seconds>]
//   prism multicast unregister <identity>
//   prism multicast enumerate [--filter <json>] [--limit <n>] [--cursor <cursor>]
//   prism multicast send --filter <json> --payload <text> [--delivery at-least-once|at-most-once]
//                        [--channel pubsub|queue|both] [--content-type <type>] [--batch-size <n>]
//                        [--concurrency <n>] [--id <id>] [--wait]
//   prism multicast receive <identity> [--max <n>] [--visibility-timeout <ms>] [--wait <ms>] [--ack]
//   prism multicast ack <identity> <receipt>
// Every subcommand takes --registry <name> (default: $PRISM_MULTICAST_REGISTRY or "default").
import { parseArgs } from 'node:util';
import { MulticastRegistryClient, RegistryError } from '../../client/multicast-registry';
import { PrismClient } from '../../client/prism-client';
import { describeIssues } from '../../workflows/input';
import { filterProblem, type Metadata } from '../../workflows/multicast-registry/filter';
import {
  CHANNELS,
  DELIVERY_MODES,
  identityName,
  type Channel,
  type DeliveryMode,
  type MulticastReport,
} from '../../workflows/multicast-registry/input';
import { parseJsonInput, UsageError, type Command, type Io } from '../io';

export const MULTICAST_USAGE = `usage:
  prism multicast register <identity> [--metadata <json>] [--ttl <seconds>] [--replace]
  prism multicast heartbeat <identity> [--ttl <seconds>]
  prism multicast unregister <identity>
  prism multicast enumerate [--filter <json>] [--limit <n>] [--cursor <cursor>]
  prism multicast send --filter <json> --payload <text> [--delivery at-least-once|at-most-once]
                       [--channel pubsub|queue|both] [--content-type <type>] [--batch-size <n>]
                       [--concurrency <n>] [--id <id>] [--wait]
  prism multicast receive <identity> [--max <n>] [--visibility-timeout <ms>] [--wait <ms>] [--ack]
  prism multicast ack <identity> <receipt>
  every subcommand: [--registry <name>] (default $PRISM_MULTICAST_REGISTRY or "default")`;

const COMMON = { registry: { type: 'string' } } as const;

function integer(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag}: expected a whole number, got "${value}"`);
  return Number(value);
}

function objectArg(value: string | undefined, flag: string): Record<string, unknown> {
  const parsed = parseJsonInput(value, flag);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`${flag}: expected a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

function oneIdentity(positionals: string[], sub: string, extra?: string): string {
  const wanted = extra === undefined ? 1 : 2;
  if (positionals.length !== wanted) {
    throw new UsageError(
      `multicast ${sub} takes exactly one identity${extra === undefined ? '' : ` and one ${extra}`}`,
    );
  }
  const checked = identityName.safeParse(positionals[0]);
  if (!checked.success) throw new UsageError(describeIssues(checked.error, 'identity'));
  return positionals[0];
}

function progressLine(r: MulticastReport): string {
  return `progress:    ${r.delivered + r.failed}/${r.targetCount}${r.done ? '' : '+'} accounted (delivered ${r.delivered}, failed ${r.failed}, pending ${r.pending})`;
}

async function withClient(
  registryName: string | undefined,
  run: (registry: MulticastRegistryClient, prism: PrismClient) => Promise<number>,
): Promise<number> {
  const prism = await PrismClient.connect();
  try {
    const name = registryName ?? process.env.PRISM_MULTICAST_REGISTRY ?? 'default';
    let registry: MulticastRegistryClient;
    try {
      registry = new MulticastRegistryClient(prism, name);
    } catch (err) {
      throw new UsageError(`--registry: ${(err as Error).message}`);
    }
    return await run(registry, prism);
  } catch (err) {
    // Refused input is a usage error; conflicts and missing identities are plain failures.
    if (err instanceof RegistryError && err.type === 'InvalidInput') throw new UsageError(err.message);
    if (err instanceof RegistryError) throw new Error(`${err.type}: ${err.message}`);
    throw err;
  } finally {
    await prism.close();
  }
}

async function send(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...COMMON,
      filter: { type: 'string' },
      payload: { type: 'string' },
      delivery: { type: 'string' },
      channel: { type: 'string' },
      'content-type': { type: 'string' },
      'batch-size': { type: 'string' },
      concurrency: { type: 'string' },
      id: { type: 'string' },
      wait: { type: 'boolean', default: false },
    },
  });
  if (positionals.length > 0) throw new UsageError('multicast send takes no positional arguments');
  if (values.payload === undefined) throw new UsageError('multicast send: --payload is required');
  if (values.filter === undefined) throw new UsageError('multicast send: --filter is required ({} for everyone)');
  const filter = objectArg(values.filter, '--filter');
  const problem = filterProblem(filter);
  if (problem) throw new UsageError(`--filter: ${problem.message}`);
  if (values.delivery !== undefined && !(DELIVERY_MODES as readonly string[]).includes(values.delivery)) {
    throw new UsageError(`--delivery: expected one of ${DELIVERY_MODES.join(', ')}`);
  }
  if (values.channel !== undefined && !(CHANNELS as readonly string[]).includes(values.channel)) {
    throw new UsageError(`--channel: expected one of ${CHANNELS.join(', ')}`);
  }
  const batchSize = integer(values['batch-size'], '--batch-size');
  const concurrency = integer(values.concurrency, '--concurrency');
  return withClient(values.registry, async (registry, prism) => {
    const handle = await registry.startMulticast(filter, values.payload!, {
      delivery: values.delivery as DeliveryMode | undefined,
      channel: values.channel as Channel | undefined,
      contentType: values['content-type'],
      batchSize,
      concurrency,
      workflowId: values.id,
    });
    io.out(`workflow id: ${handle.workflowId}`);
    io.out(`ui:          ${prism.uiUrl(handle.workflowId)}`);
    if (!values.wait) return 0;
    const final = handle.result();
    let finished = false;
    void final.then(
      () => (finished = true),
      () => (finished = true),
    );
    let last = '';
    while (!finished) {
      const line = await handle.report().then(progressLine, () => '');
      if (line && line !== last) io.out((last = line));
      await Promise.race([final.catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
    }
    const report = await final;
    io.out(progressLine(report));
    io.out(`result:      ${report.targetCount} targets, ${report.delivered} delivered, ${report.failed} failed`);
    for (const s of report.statuses.filter((t) => t.status === 'failed').slice(0, 20)) {
      io.out(`  failed ${s.identity} after ${s.attempts} attempt(s): ${s.error ?? ''}`);
    }
    return report.failed === 0 ? 0 : 1;
  });
}

async function register(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...COMMON, metadata: { type: 'string' }, ttl: { type: 'string' }, replace: { type: 'boolean' } },
  });
  const identity = oneIdentity(positionals, 'register');
  const metadata = objectArg(values.metadata, '--metadata');
  const ttlSeconds = integer(values.ttl, '--ttl');
  return withClient(values.registry, async (registry) => {
    const r = await registry.register(identity, metadata as Metadata, { ttlSeconds, replace: values.replace });
    io.out(`registered ${r.identity} at ${r.registeredAt}${r.expiresAt ? `, lease until ${r.expiresAt}` : ''}`);
    return 0;
  });
}

async function heartbeat(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...COMMON, ttl: { type: 'string' } },
  });
  const identity = oneIdentity(positionals, 'heartbeat');
  const ttlSeconds = integer(values.ttl, '--ttl');
  return withClient(values.registry, async (registry) => {
    const r = await registry.heartbeat(identity, { ttlSeconds });
    io.out(`renewed ${r.identity}${r.expiresAt ? `: lease until ${r.expiresAt}` : ' (no lease)'}`);
    return 0;
  });
}

async function unregister(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: COMMON });
  const identity = oneIdentity(positionals, 'unregister');
  return withClient(values.registry, async (registry) => {
    const { removed } = await registry.unregister(identity);
    io.out(removed ? `unregistered ${identity}` : `${identity} was not registered`);
    return 0;
  });
}

async function enumerate(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...COMMON, filter: { type: 'string' }, limit: { type: 'string' }, cursor: { type: 'string' } },
  });
  if (positionals.length > 0) throw new UsageError('multicast enumerate takes no positional arguments');
  const filter = values.filter === undefined ? {} : objectArg(values.filter, '--filter');
  const limit = integer(values.limit, '--limit');
  return withClient(values.registry, async (registry) => {
    const page = await registry.enumerate(filter, { limit, cursor: values.cursor ?? null });
    for (const r of page.identities) {
      io.out(`${r.identity}\t${JSON.stringify(r.metadata)}${r.expiresAt ? `\texpires ${r.expiresAt}` : ''}`);
    }
    io.out(page.cursor === null ? `(${page.identities.length} shown, end)` : `next: --cursor ${page.cursor}`);
    return 0;
  });
}

async function receive(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...COMMON,
      max: { type: 'string' },
      'visibility-timeout': { type: 'string' },
      wait: { type: 'string' },
      ack: { type: 'boolean', default: false },
    },
  });
  const identity = oneIdentity(positionals, 'receive');
  const max = integer(values.max, '--max');
  const visibilityTimeoutMs = integer(values['visibility-timeout'], '--visibility-timeout');
  const waitMs = integer(values.wait, '--wait');
  return withClient(values.registry, async (registry) => {
    const messages = await registry.receive(identity, { max, visibilityTimeoutMs, waitMs });
    for (const m of messages) {
      io.out(
        `message ${m.messageId} from ${m.multicastId ?? '(unknown)'}, delivery ${m.deliveryCount}, ${m.contentType}`,
      );
      io.out(`  payload: ${m.payload}`);
      if (values.ack) await registry.ack(identity, m.receipt);
      io.out(values.ack ? '  acked' : `  receipt: ${m.receipt}`);
    }
    io.out(`(${messages.length} message${messages.length === 1 ? '' : 's'})`);
    return 0;
  });
}

async function ack(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: COMMON });
  const identity = oneIdentity(positionals, 'ack', 'receipt');
  return withClient(values.registry, async (registry) => {
    await registry.ack(identity, positionals[1]);
    io.out(`acked ${identity}'s message`);
    return 0;
  });
}

const SUBCOMMANDS: Record<string, Command> = { register, heartbeat, unregister, enumerate, send, receive, ack };

export const multicastCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  const handler = sub === undefined ? undefined : SUBCOMMANDS[sub];
  if (!handler) {
    if (sub === undefined || sub === 'help' || sub === '--help') {
      io.out(MULTICAST_USAGE);
      return sub === undefined ? 2 : 0;
    }
    throw new UsageError(`unknown multicast subcommand "${sub}"\n\n${MULTICAST_USAGE}`);
  }
  return handler(rest, io);
};
