// The command tree: every command of `prism`, each with its options, defaults and an example in its
// --help. Usage errors anywhere in the tree are reported the same way (the message, the command's
// usage line) and exit 2.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { cdcCommand } from './commands/cdc';
import { codecServerCommand } from './commands/codec-server';
import { completionCommand } from './commands/completion';
import { configCommand } from './commands/config';
import { describeCommand } from './commands/describe';
import { multicastCommand } from './commands/multicast-registry';
import { sagaCommand } from './commands/saga';
import { sessionCommand } from './commands/session-store';
import { startCommand } from './commands/start';
import { workerCommand } from './commands/worker';
import { commandPath, examples, type CliContext } from './command-kit';
import type { Io } from './io';

/** The installed package's version (dist/src/cli → the package root). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

const ENVIRONMENT = `
Environment:
  PRISM_TEMPORAL_ADDRESS  Temporal frontend (127.0.0.1:7233); --address wins
  PRISM_NAMESPACE         Temporal namespace (default); --namespace wins
  PRISM_TASK_QUEUE        the worker's task queue (prism); --task-queue wins
  PRISM_TEMPORAL_UI       Temporal Web UI for the links printed (http://127.0.0.1:8233)
  PRISM_CONFIG            a worker config: its temporal section, TLS and codec apply to the client

Exit codes: 0 success, 1 the operation failed, 2 usage error (unknown command or option, bad value).`;

function chomp(text: string): string {
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}

/** The same output and error handling on every command (commander copies it only to .command() children). */
function configureTree(command: Command, io: Io): void {
  const path = commandPath(command);
  command
    .exitOverride()
    .showSuggestionAfterError()
    .configureOutput({
      writeOut: (text) => io.out(chomp(text)),
      writeErr: (text) => io.err(chomp(text)),
      outputError: (text, write) =>
        write(
          `prism: ${text.replace(/^error: /, '')}usage: ${path} ${command.usage()}\n` +
            `run "${path} --help" for the options and an example\n`,
        ),
    });
  for (const child of command.commands) configureTree(child, io);
}

export function buildProgram(context: CliContext): Command {
  const program = new Command('prism')
    .description('Start, inspect and steer Prism pattern workflows on Temporal, and run the worker.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpCommand('help [command]', 'show the help of a command')
    .addHelpText(
      'after',
      ENVIRONMENT +
        '\n' +
        examples(
          'prism worker --config config/demo.yaml',
          `prism start kvProbeWorkflow --input '{"key":"greeting","value":"hello"}' --wait`,
          'prism multicast --help',
        ),
    );
  for (const make of [
    startCommand,
    describeCommand,
    workerCommand,
    codecServerCommand,
    configCommand,
    multicastCommand,
    sagaCommand,
    sessionCommand,
    cdcCommand,
    completionCommand,
  ]) {
    program.addCommand(make(context));
  }
  configureTree(program, context.io);
  return program;
}
