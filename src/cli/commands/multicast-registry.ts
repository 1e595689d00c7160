// prism multicast: the multicast registry from the command line. With a worker config (--config or
// PRISM_CONFIG), registry and inbox operations go straight to the registry's backend through a
// guarded pool handle: a register or heartbeat is a few backend calls, not an execution in the
// workflow list. Without one, the CLI talks only to Temporal and they run as short operation
// workflows. send starts a multicast workflow either way, and --wait polls its small
// `multicastProgress` query (counts only) until it finishes.
// Every subcommand takes --registry <name> (default: $PRISM_MULTICAST_REGISTRY or "default").
import { Command, InvalidArgumentError, Option } from 'commander';
import { MulticastRegistryClient, RegistryError, type MulticastHandle } from '../../client/multicast-registry';
import type { PrismClient } from '../../client/prism-client';
import { loadConfig } from '../../config/load';
import { describeIssues } from '../../workflows/input';
import { filterProblem, type Metadata } from '../../workflows/multicast-registry/filter';
import {
  CHANNELS,
  DELIVERY_MODES,
  identityName,
  type Channel,
  type DeliveryMode,
  type MulticastProgress,
  type MulticastReport,
  type TargetReport,
} from '../../workflows/multicast-registry/input';
import { wholeNumber } from '../arguments';
import { act, examples, type CliContext } from '../command-kit';
import { parseJsonObject, UsageError, type Io } from '../io';
import { warnIfNoWorker } from '../no-poller-warning';
import { outputOption, print, recordLines, tableLines, type OutputFormat } from '../output';
import { withTemporal, withTemporalOptions, type TemporalFlags } from '../temporal';

interface RegistryFlags extends TemporalFlags {
  registry?: string;
  config?: string;
}

const PROGRESS_POLL_MS = 1000;
/** Without --wait, how long send watches for an empty match before leaving the multicast to run. */
const EMPTY_MATCH_WATCH_MS = 5000;

function identity(value: string): string {
  const checked = identityName.safeParse(value);
  if (!checked.success) throw new InvalidArgumentError(describeIssues(checked.error, 'identity'));
  return value;
}

function progressLine(p: MulticastProgress): string {
  return `progress:    ${p.delivered + p.failed}/${p.targetCount}${p.done ? '' : '+'} accounted (delivered ${p.delivered}, failed ${p.failed}, pending ${p.pending})`;
}

function noMatchWarning(io: Io, registry: string): void {
  io.err(`prism: warning: no identity in registry "${registry}" matches the filter; nothing was sent`);
}

/** A subcommand of `prism multicast` with the flags every one of them takes. */
function subcommand(name: string, description: string): Command {
  return withTemporalOptions(
    new Command(name)
      .description(description)
      .option('--registry <name>', 'the registry (default: $PRISM_MULTICAST_REGISTRY or "default")')
      .option(
        '--config <file.yaml>',
        "a worker config: registry operations then call the registry's backend directly, guarded, instead of running a workflow each (default: $PRISM_CONFIG)",
      ),
  );
}

/**
 * Runs `fn` with a registry client; registry errors become usage errors (bad input) or failures.
 * usesBackends: false for commands that only talk to Temporal (send, status), which then open no
 * backend even with a config.
 */
function withRegistry(
  flags: RegistryFlags,
  fn: (registry: MulticastRegistryClient, prism: PrismClient) => Promise<number | void>,
  usesBackends = true,
): Promise<number | void> {
  const file = flags.config ?? process.env.PRISM_CONFIG;
  const config = file === undefined ? undefined : loadConfig(file);
  return withTemporal(
    flags,
    async (prism) => {
      const name = flags.registry ?? process.env.PRISM_MULTICAST_REGISTRY ?? 'default';
      let registry: MulticastRegistryClient;
      try {
        registry =
          config && usesBackends
            ? await MulticastRegistryClient.fromConfig(prism, name, config, { file })
            : new MulticastRegistryClient(prism, name);
      } catch (err) {
        if (err instanceof RegistryError) throw new UsageError(`--registry: ${err.message}`);
        throw err;
      }
      try {
        return await fn(registry, prism);
      } catch (err) {
        // Refused input is a usage error; conflicts and missing identities are plain failures.
        if (err instanceof RegistryError && err.type === 'InvalidInput') throw new UsageError(err.message);
        if (err instanceof RegistryError) throw new Error(`${err.type}: ${err.message}`);
        throw err;
      } finally {
        await registry.close();
      }
    },
    config,
  );
}

/** Polls the progress query, printing each change, until the multicast finishes; its final report. */
async function follow(handle: MulticastHandle, io: Io): Promise<MulticastReport> {
  const final = handle.result();
  let finished = false;
  void final.then(
    () => (finished = true),
    () => (finished = true),
  );
  let last = '';
  while (!finished) {
    const line = await handle.progress().then(progressLine, () => '');
    if (line && line !== last) io.out((last = line));
    await Promise.race([final.catch(() => undefined), new Promise((r) => setTimeout(r, PROGRESS_POLL_MS))]);
  }
  return final;
}

/** Without --wait: watch briefly so an empty match is reported rather than silently sent to no one. */
async function watchForEmptyMatch(handle: MulticastHandle, io: Io, registry: string): Promise<void> {
  const deadline = Date.now() + EMPTY_MATCH_WATCH_MS;
  while (Date.now() < deadline) {
    const p = await handle.progress().catch(() => undefined);
    if (p && p.targetCount > 0) return;
    if (p?.done) return noMatchWarning(io, registry);
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface SendFlags extends RegistryFlags {
  filter: string;
  payload: string;
  delivery?: DeliveryMode;
  channel?: Channel;
  contentType?: string;
  batchSize?: number;
  concurrency?: number;
  id?: string;
  wait?: boolean;
}

function send(context: CliContext): Command {
  const { io } = context;
  return subcommand('send', 'multicast a payload to every identity matching a filter')
    .requiredOption('--filter <json|@file>', 'Mongo-like metadata filter ({} for everyone)')
    .requiredOption('--payload <text>', 'the payload')
    .addOption(new Option('--delivery <mode>', 'delivery guarantee').choices(DELIVERY_MODES).default('at-least-once'))
    .addOption(new Option('--channel <channel>', 'where targets get it').choices(CHANNELS).default('pubsub'))
    .option('--content-type <type>', 'the payload content type', 'text/plain')
    .option('--batch-size <n>', 'targets per activity', wholeNumber)
    .option('--concurrency <n>', 'batches in flight at once', wholeNumber)
    .option('--id <workflow-id>', 'workflow id (default: multicast-registry-multicast-<uuid>)')
    .option('--wait', 'follow progress until done; exit 1 if any target failed')
    .addHelpText(
      'after',
      examples(`prism multicast send --registry fleet --filter '{"region":"eu"}' --payload 'drain at 18:00' --wait`),
    )
    .action(
      act(context, async (command) => {
        const flags = command.opts<SendFlags>();
        const filter = parseJsonObject(flags.filter, '--filter');
        const problem = filterProblem(filter);
        if (problem) throw new UsageError(`--filter: ${problem.message}`);
        return withRegistry(
          flags,
          async (registry, prism) => {
            const handle = await registry.startMulticast(filter, flags.payload, {
              delivery: flags.delivery,
              channel: flags.channel,
              contentType: flags.contentType,
              batchSize: flags.batchSize,
              concurrency: flags.concurrency,
              workflowId: flags.id,
            });
            io.out(`workflow id: ${handle.workflowId}`);
            io.out(`ui:          ${prism.uiUrl(handle.workflowId)}`);
            if (!flags.wait) return watchForEmptyMatch(handle, io, registry.registry);
            const cancel = warnIfNoWorker(prism, io);
            const report = await follow(handle, io).finally(cancel);
            io.out(progressLine(report));
            io.out(
              `result:      ${report.targetCount} targets, ${report.delivered} delivered, ${report.failed} failed`,
            );
            if (report.targetCount === 0) noMatchWarning(io, registry.registry);
            for (const s of report.statuses.filter((t) => t.status === 'failed').slice(0, 20)) {
              io.out(`  failed ${s.identity} after ${s.attempts} attempt(s): ${s.error ?? ''}`);
            }
            return report.failed === 0 ? 0 : 1;
          },
          false,
        );
      }),
    );
}

function status(context: CliContext): Command {
  return subcommand('status', "a multicast's progress: targets, delivered, failed, pending")
    .argument('<workflow-id>', "the multicast's workflow id (printed by send)")
    .option('--targets', 'with -o json: include the per-target statuses (the full report)')
    .addOption(outputOption())
    .addHelpText('after', examples('prism multicast status multicast-registry-multicast-6f1e… -o json'))
    .action(
      act(context, async (command) => {
        const [workflowId] = command.processedArgs as [string];
        const flags = command.opts<RegistryFlags & { targets?: boolean; output: OutputFormat }>();
        return withRegistry(
          flags,
          async (registry) => {
            const handle = registry.multicastOf(workflowId);
            const value = flags.targets ? await fullReport(registry, await handle.report()) : await handle.progress();
            const { targetCount, delivered, failed, pending, done } = value;
            print(context.io, flags.output, value, () =>
              recordLines({ targetCount, delivered, failed, pending, done, ui: handle.uiUrl }),
            );
          },
          false,
        );
      }),
    );
}

/** The report with every target in `statuses`: a paged multicast's delivered ones read from the registry. */
async function fullReport(registry: MulticastRegistryClient, report: MulticastReport): Promise<MulticastReport> {
  if (report.reportId === undefined) return report;
  const statuses: TargetReport[] = [];
  for await (const target of registry.reportTargets(report)) statuses.push(target);
  return { ...report, statuses, statusesTruncated: false };
}

function report(context: CliContext): Command {
  return subcommand('report', "a multicast's targets, a page at a time: failed first, then delivered")
    .argument('<workflow-id>', "the multicast's workflow id (printed by send)")
    .option('--rows <n>', 'report rows (pages of the multicast) per call', wholeNumber)
    .option('--cursor <cursor>', 'the cursor a previous call printed')
    .addOption(outputOption())
    .addHelpText('after', examples('prism multicast report multicast-registry-multicast-6f1e… --registry fleet'))
    .action(
      act(context, async (command) => {
        const [workflowId] = command.processedArgs as [string];
        const flags = command.opts<RegistryFlags & { rows?: number; cursor?: string; output: OutputFormat }>();
        return withRegistry(flags, async (registry) => {
          const summary = await registry.multicastOf(workflowId).report();
          // The first call lists the failures the report holds; delivered targets follow, page by page.
          const page =
            summary.reportId === undefined
              ? { targets: summary.statuses, cursor: null }
              : flags.cursor === undefined
                ? {
                    ...(await registry.deliveredTargets(summary, { rows: flags.rows })),
                    failed: summary.statuses,
                  }
                : await registry.deliveredTargets(summary, { rows: flags.rows, cursor: flags.cursor });
          const targets = 'failed' in page ? [...page.failed, ...page.targets] : page.targets;
          print(context.io, flags.output, { targets, cursor: page.cursor }, () => [
            ...tableLines(
              ['identity', 'status', 'attempts', 'error'],
              targets.map((t) => [t.identity, t.status, t.attempts, t.error ?? '']),
            ),
            page.cursor === null ? `(${targets.length} shown, end)` : `next: --cursor ${page.cursor}`,
          ]);
        });
      }),
    );
}

function register(context: CliContext): Command {
  return subcommand('register', 'register an identity with metadata and an optional lease')
    .argument('<identity>', 'identity name', identity)
    .option('--metadata <json|@file>', 'metadata object', '{}')
    .option('--ttl <seconds>', 'lease: the identity expires unless renewed (default: no lease)', wholeNumber)
    .option('--replace', 'replace a live registration of the same identity')
    .addHelpText(
      'after',
      examples(`prism multicast register web-1 --registry fleet --metadata '{"region":"eu"}' --ttl 60`),
    )
    .action(
      act(context, async (command) => {
        const [id] = command.processedArgs as [string];
        const flags = command.opts<RegistryFlags & { metadata: string; ttl?: number; replace?: boolean }>();
        const metadata = parseJsonObject(flags.metadata, '--metadata');
        return withRegistry(flags, async (registry) => {
          const r = await registry.register(id, metadata as Metadata, {
            ttlSeconds: flags.ttl,
            replace: flags.replace,
          });
          context.io.out(
            `registered ${r.identity} at ${r.registeredAt}${r.expiresAt ? `, lease until ${r.expiresAt}` : ''}`,
          );
        });
      }),
    );
}

function heartbeat(context: CliContext): Command {
  return subcommand('heartbeat', "renew an identity's lease")
    .argument('<identity>', 'identity name', identity)
    .option('--ttl <seconds>', 'the new lease (default: the one it was registered with)', wholeNumber)
    .addHelpText('after', examples('prism multicast heartbeat web-1 --registry fleet --ttl 60'))
    .action(
      act(context, async (command) => {
        const [id] = command.processedArgs as [string];
        const flags = command.opts<RegistryFlags & { ttl?: number }>();
        return withRegistry(flags, async (registry) => {
          const r = await registry.heartbeat(id, { ttlSeconds: flags.ttl });
          context.io.out(`renewed ${r.identity}${r.expiresAt ? `: lease until ${r.expiresAt}` : ' (no lease)'}`);
        });
      }),
    );
}

function unregister(context: CliContext): Command {
  return subcommand('unregister', 'remove an identity (idempotent)')
    .argument('<identity>', 'identity name', identity)
    .addHelpText('after', examples('prism multicast unregister web-1 --registry fleet'))
    .action(
      act(context, async (command) => {
        const [id] = command.processedArgs as [string];
        return withRegistry(command.opts<RegistryFlags>(), async (registry) => {
          const { removed } = await registry.unregister(id);
          context.io.out(removed ? `unregistered ${id}` : `${id} was not registered`);
        });
      }),
    );
}

function enumerate(context: CliContext): Command {
  return subcommand('enumerate', 'list live identities matching a filter, a page at a time')
    .option('--filter <json|@file>', 'Mongo-like metadata filter', '{}')
    .option('--limit <n>', 'identities per page', wholeNumber)
    .option('--cursor <cursor>', 'the cursor a previous page returned')
    .addOption(outputOption())
    .addHelpText('after', examples(`prism multicast enumerate --registry fleet --filter '{"region":"eu"}' -o json`))
    .action(
      act(context, async (command) => {
        const flags = command.opts<
          RegistryFlags & { filter: string; limit?: number; cursor?: string; output: OutputFormat }
        >();
        const filter = parseJsonObject(flags.filter, '--filter');
        return withRegistry(flags, async (registry) => {
          const page = await registry.enumerate(filter, { limit: flags.limit, cursor: flags.cursor ?? null });
          print(context.io, flags.output, page, () => [
            ...tableLines(
              ['identity', 'metadata', 'expires'],
              page.identities.map((r) => [r.identity, r.metadata, r.expiresAt]),
            ),
            page.cursor === null ? `(${page.identities.length} shown, end)` : `next: --cursor ${page.cursor}`,
          ]);
        });
      }),
    );
}

function receive(context: CliContext): Command {
  return subcommand('receive', "take messages from an identity's queue (multicasts sent with --channel queue|both)")
    .argument('<identity>', 'identity name', identity)
    .option('--max <n>', 'messages at most', wholeNumber, 10)
    .option('--visibility-timeout <ms>', 'hand an unacked message out again after this long', wholeNumber, 30_000)
    .option('--wait <ms>', 'wait up to this long when the queue is empty', wholeNumber, 0)
    .option('--ack', 'ack each message as it is printed')
    .addOption(outputOption())
    .addHelpText('after', examples('prism multicast receive web-1 --registry fleet --ack --wait 2000'))
    .action(
      act(context, async (command) => {
        const [id] = command.processedArgs as [string];
        const flags = command.opts<
          RegistryFlags & { max: number; visibilityTimeout: number; wait: number; ack?: boolean; output: OutputFormat }
        >();
        return withRegistry(flags, async (registry) => {
          const messages = await registry.receive(id, {
            max: flags.max,
            visibilityTimeoutMs: flags.visibilityTimeout,
            waitMs: flags.wait,
          });
          if (flags.ack) for (const m of messages) await registry.ack(id, m.receipt);
          const { io } = context;
          print(
            io,
            flags.output,
            messages.map((m) => ({ ...m, acked: flags.ack })),
            () => [
              ...messages.flatMap((m) => [
                `message ${m.messageId} from ${m.multicastId ?? '(unknown)'}, delivery ${m.deliveryCount}, ${m.contentType}`,
                `  payload: ${m.payload}`,
                flags.ack ? '  acked' : `  receipt: ${m.receipt}`,
              ]),
              `(${messages.length} message${messages.length === 1 ? '' : 's'})`,
            ],
          );
        });
      }),
    );
}

function ack(context: CliContext): Command {
  return subcommand('ack', 'remove a received message for good')
    .argument('<identity>', 'identity name', identity)
    .argument('<receipt>', 'the receipt receive printed')
    .addHelpText('after', examples('prism multicast ack web-1 <receipt> --registry fleet'))
    .action(
      act(context, async (command) => {
        const [id, receipt] = command.processedArgs as [string, string];
        return withRegistry(command.opts<RegistryFlags>(), async (registry) => {
          await registry.ack(id, receipt);
          context.io.out(`acked ${id}'s message`);
        });
      }),
    );
}

export function multicastCommand(context: CliContext): Command {
  const multicast = new Command('multicast')
    .description('the multicast registry: register identities, enumerate them, multicast to those matching a filter')
    .addHelpText(
      'after',
      examples(
        `prism multicast register web-1 --registry fleet --metadata '{"region":"eu"}' --ttl 60`,
        `prism multicast send --registry fleet --filter '{"region":"eu"}' --payload 'drain at 18:00' --wait`,
      ),
    );
  for (const make of [register, heartbeat, unregister, enumerate, send, status, report, receive, ack]) {
    multicast.addCommand(make(context));
  }
  return multicast;
}
