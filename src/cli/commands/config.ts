// prism config dump --config <file>: the config as the worker sees it (defaults filled in), with
// secrets redacted. References ({ env: NAME } / { file: PATH }) are shown, never resolved.
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { loadConfig } from '../../config/load';
import { redactConfig } from '../../security/secrets';
import { UsageError, type Command } from '../io';

export const configCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  if (sub !== 'dump')
    throw new UsageError(sub === undefined ? 'config needs a subcommand: dump' : `unknown config subcommand "${sub}"`);
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { config: { type: 'string' } },
  });
  if (positionals.length > 0) throw new UsageError('config dump takes no positional arguments');
  const file = values.config ?? process.env.PRISM_CONFIG;
  if (!file) throw new UsageError('config dump needs --config <file.yaml> (or PRISM_CONFIG)');
  io.out(stringify(redactConfig(loadConfig(file))).trimEnd());
  return 0;
};
