// prism worker --config <file>: the worker process in the foreground (the same main as prism-worker).
// Its http port (worker.http_port) is checked first, so a taken port is named rather than surfacing
// as whatever the half-started worker fails on while it tears itself down.
import { Command } from 'commander';
import { loadConfig } from '../../config/load';
import { act, examples, type CliContext } from '../command-kit';
import { UsageError } from '../io';
import { checkPortFree } from '../ports';
import { withTemporalOptions, type TemporalFlags } from '../temporal';

export function workerCommand(context: CliContext): Command {
  return withTemporalOptions(
    new Command('worker')
      .description('run a worker: the patterns, backends and Temporal settings of a config file')
      .option('--config <file.yaml>', 'the worker config (default: $PRISM_CONFIG)'),
    'worker',
  )
    .addHelpText(
      'after',
      `\nExit codes: 0 drained cleanly, 1 errors (a bad config included), 2 the shutdown timeout cut work short.\n` +
        examples('prism worker --config config/demo.yaml'),
    )
    .action(
      act(context, async (command) => {
        const flags = command.opts<TemporalFlags & { config?: string }>();
        const file = flags.config ?? process.env.PRISM_CONFIG;
        if (!file) throw new UsageError('worker needs --config <file.yaml> (or PRISM_CONFIG)');
        const { worker } = loadConfig(file);
        await checkPortFree(worker.http_host, worker.http_port, 'worker.http_port');
        const temporal = { address: flags.address, namespace: flags.namespace, task_queue: flags.taskQueue };
        return (await import('../../worker')).main(['--config', file], { temporal });
      }),
    );
}
