// prism config dump --config <file>: the config as the worker sees it (defaults filled in), with
// secrets redacted. References ({ env: NAME } / { file: PATH }) are shown, never resolved.
import { Command, Option } from 'commander';
import { stringify } from 'yaml';
import { loadConfig } from '../../config/load';
import { redactConfig } from '../../security/secrets';
import { act, examples, type CliContext } from '../command-kit';
import { UsageError } from '../io';

export function configCommand(context: CliContext): Command {
  const config = new Command('config')
    .description('inspect a worker config')
    .addHelpText('after', examples('prism config dump --config config/demo.yaml'));
  config
    .command('dump')
    .description('print the config as the worker sees it: defaults filled in, secrets redacted')
    .option('--config <file.yaml>', 'the worker config (default: $PRISM_CONFIG)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['yaml', 'json']).default('yaml'))
    .addHelpText(
      'after',
      examples('prism config dump --config config/demo.yaml', 'prism config dump --config config/demo.yaml -o json'),
    )
    .action(
      act(context, async (command) => {
        const flags = command.opts<{ config?: string; output: 'yaml' | 'json' }>();
        const file = flags.config ?? process.env.PRISM_CONFIG;
        if (!file) throw new UsageError('config dump needs --config <file.yaml> (or PRISM_CONFIG)');
        const redacted = redactConfig(loadConfig(file));
        context.io.out(flags.output === 'json' ? JSON.stringify(redacted, null, 2) : stringify(redacted).trimEnd());
      }),
    );
  return config;
}
