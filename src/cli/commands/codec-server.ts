// prism codec-server --config <file> [--port N] [--host H]
// Serves Temporal's codec-server protocol with the config's codec keys until SIGTERM/SIGINT.
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/load';
import { createLogger } from '../../observability/logger';
import { codecFromConfig } from '../../security/codec';
import { CodecServer } from '../../security/codec-server';
import { resolveSecretString } from '../../security/secrets';
import { UsageError, type Command } from '../io';

export const codecServerCommand: Command = async (args, io) => {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { config: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' } },
  });
  if (positionals.length > 0) throw new UsageError('codec-server takes no positional arguments');
  const file = values.config ?? process.env.PRISM_CONFIG;
  if (!file) throw new UsageError('codec-server needs --config <file.yaml> (or PRISM_CONFIG)');
  let port: number | undefined;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new UsageError(`--port: expected a port number 0..65535, got "${values.port}"`);
  }
  const config = loadConfig(file);
  const settings = config.codec.server;
  const logger = createLogger(config.logging.level, { component: 'codec-server' });
  const server = new CodecServer({
    codec: codecFromConfig(config.codec),
    host: values.host ?? settings.host,
    port: port ?? settings.port,
    corsOrigins: settings.cors_origins,
    token: settings.token === undefined ? undefined : resolveSecretString(settings.token, 'codec.server.token'),
    maxBodyBytes: settings.max_body_bytes,
    logger,
  });
  const bound = await server.start();
  const host = values.host ?? settings.host;
  io.out(`codec server listening on http://${host}:${bound} (POST /encode, /decode)`);
  logger.info('codec server running', {
    url: `http://${host}:${bound}`,
    corsOrigins: settings.cors_origins,
    auth: settings.token === undefined ? 'none' : 'bearer',
  });
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await server.stop();
  return 0;
};
