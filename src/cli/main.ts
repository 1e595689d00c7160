#!/usr/bin/env node
// prism: start pattern workflows, wait for them, describe them, run the worker (`prism --help`).
// Usage errors print the message and the command's usage line and exit 2; failures print what
// happened (a failed workflow's whole cause chain) and exit 1; never a stack trace.
import { CommanderError } from 'commander';
import { USAGE_ERROR_EXIT, type CliContext } from './command-kit';
import { describeFailure } from './failure';
import { defaultIo, type Io } from './io';
import { buildProgram } from './program';

/** Runs one command line (without `node` and the script); resolves with the exit code. */
export async function run(argv: string[], io: Io = defaultIo): Promise<number> {
  const context: CliContext = { io, exitCode: 0 };
  const program = buildProgram(context);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return context.exitCode;
  } catch (err) {
    // --help and --version end parsing with exit code 0; everything else commander throws is usage.
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : USAGE_ERROR_EXIT;
    io.err(`prism: ${describeFailure(err)}`);
    return 1;
  }
}

if (require.main === module) {
  // `prism … | head` closes the pipe early: that is the reader's choice, not a failure.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => process.exit(err.code === 'EPIPE' ? 0 : 1));
  // Exit once stdout has flushed: into a pipe it is written asynchronously, and exiting at once
  // would cut a long output (a saga list as JSON) short.
  void run(process.argv.slice(2)).then((code) =>
    process.stdout.write('', () => process.stderr.write('', () => process.exit(code))),
  );
}
