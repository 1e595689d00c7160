// Reads a YAML config file and validates it; every problem is reported with its field path.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError, zodProblems } from '../common/config-errors';
import { configSchema, type PrismConfig } from './schema';

export function parseConfig(text: string, file = '<inline>'): PrismConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    throw new ConfigError(file, [`not valid YAML: ${(err as Error).message.split('\n')[0]}`]);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(file, ['(top level): expected a mapping with backends and patterns']);
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(file, zodProblems(result.error));
  return result.data;
}

export function loadConfig(file: string): PrismConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [
      `cannot read the file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    ]);
  }
  return parseConfig(text, file);
}
