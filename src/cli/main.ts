#!/usr/bin/env node
// prism: start pattern workflows, wait for them, describe them, run the worker.
//   prism start <workflow> [--input JSON|@file] [--id ID] [--wait]
//   prism describe <workflow-id>
//   prism worker --config <file>
// Bad arguments print a usage message and exit 2; failures exit 1; never a stack trace.
import { parseArgs } from 'node:util';
import { PrismClient } from '../client/prism-client';
import { builtinPatterns } from '../patterns/builtin';
import { defaultIo, parseJsonInput, UsageError, type Command, type Io } from './io';

export const USAGE = `usage:
  prism start <workflow> [--input <json>|@<file>] [--id <workflow-id>] [--wait]
  prism describe <workflow-id>
  prism worker --config <file.yaml>
  prism codec-server --config <file.yaml> [--port <n>] [--host <h>]
  prism config dump --config <file.yaml>

environment: PRISM_TEMPORAL_ADDRESS (127.0.0.1:7233), PRISM_NAMESPACE (default),
             PRISM_TASK_QUEUE (prism), PRISM_TEMPORAL_UI (http://127.0.0.1:8233)`;

function patternOf(workflow: string): string {
  const registry = builtinPatterns();
  for (const name of registry.names()) {
    if (registry.get(name)!.workflows.includes(workflow)) return name;
  }
  throw new UsageError(`unknown workflow "${workflow}"`);
}

async function start(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { input: { type: 'string' }, id: { type: 'string' }, wait: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 1) throw new UsageError('start takes exactly one workflow name');
  const workflow = positionals[0];
  const pattern = patternOf(workflow);
  const input = parseJsonInput(values.input);
  const client = await PrismClient.connect();
  try {
    const started = await client.start(workflow, [input], { pattern, workflowId: values.id });
    io.out(`workflow id: ${started.workflowId}`);
    io.out(`run id:      ${started.runId}`);
    io.out(`ui:          ${started.uiUrl}`);
    if (values.wait) io.out(`result:      ${JSON.stringify(await started.handle.result())}`);
    return 0;
  } finally {
    await client.close();
  }
}

async function describe(args: string[], io: Io): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (positionals.length !== 1) throw new UsageError('describe takes exactly one workflow id');
  const client = await PrismClient.connect();
  try {
    const d = await client.handle(positionals[0]).describe();
    io.out(`workflow id: ${d.workflowId}`);
    io.out(`run id:      ${d.runId}`);
    io.out(`type:        ${d.type}`);
    io.out(`status:      ${d.status.name}`);
    io.out(`started:     ${d.startTime.toISOString()}`);
    if (d.closeTime) io.out(`closed:      ${d.closeTime.toISOString()}`);
    io.out(`ui:          ${client.uiUrl(d.workflowId, d.runId)}`);
    return 0;
  } finally {
    await client.close();
  }
}

// Pattern commands (prism multicast …, prism saga …) add themselves here, one line each.
export const COMMANDS: Record<string, Command> = {
  start,
  describe,
  worker: async (args) => (await import('../worker')).main(args),
  'codec-server': async (args, io) => (await import('./commands/codec-server')).codecServerCommand(args, io),
  config: async (args, io) => (await import('./commands/config')).configCommand(args, io),
  saga: async (args, io) => (await import('./commands/saga')).sagaCommand(args, io),
  cdc: async (args, io) => (await import('./commands/cdc')).cdcCommand(args, io),
  multicast: async (args, io) => (await import('./commands/multicast-registry')).multicastCommand(args, io),
  session: async (args, io) => (await import('./commands/session-store')).sessionCommand(args, io),
};

export async function run(argv: string[], io: Io = defaultIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    const handler = command === undefined ? undefined : COMMANDS[command];
    if (handler) return await handler(rest, io);
    switch (command) {
      case undefined:
      case 'help':
      case '--help':
        io.out(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (err instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
      io.err(`prism: ${(err as Error).message}\n\n${USAGE}`);
      return 2;
    }
    io.err(`prism: ${(err as Error).message}`);
    return 1;
  }
}

if (require.main === module) {
  void run(process.argv.slice(2)).then((code) => process.exit(code));
}
