// prism codec-server --config <file> [--port N] [--host H]
// Serves Temporal's codec-server protocol with the config's codec keys until SIGTERM/SIGINT.
import { Command } from 'commander';
import { loadConfig } from '../../config/load';
import { createLogger } from '../../observability/logger';
import { codecFromConfig } from '../../security/codec';
import { CodecServer } from '../../security/codec-server';
import { resolveSecretString } from '../../security/secrets';
import { port } from '../arguments';
import { act, examples, type CliContext } from '../command-kit';
import { UsageError } from '../io';
import { portError } from '../ports';

interface CodecServerFlags {
  config?: string;
  port?: number;
  host?: string;
}

export function codecServerCommand(context: CliContext): Command {
  return new Command('codec-server')
    .description("serve Temporal's codec-server protocol (POST /encode, /decode) with the config's codec keys")
    .option('--config <file.yaml>', 'the worker config (default: $PRISM_CONFIG)')
    .option('--port <n>', 'port to listen on (default: codec.server.port)', port)
    .option('--host <host>', 'address to listen on (default: codec.server.host)')
    .addHelpText('after', examples('prism codec-server --config config/demo.yaml --port 8888'))
    .action(
      act(context, async (command) => {
        const flags = command.opts<CodecServerFlags>();
        const file = flags.config ?? process.env.PRISM_CONFIG;
        if (!file) throw new UsageError('codec-server needs --config <file.yaml> (or PRISM_CONFIG)');
        const config = loadConfig(file);
        const settings = config.codec.server;
        const logger = createLogger(config.logging.level, { component: 'codec-server' });
        const host = flags.host ?? settings.host;
        const listenPort = flags.port ?? settings.port;
        const server = new CodecServer({
          codec: codecFromConfig(config.codec),
          host,
          port: listenPort,
          corsOrigins: settings.cors_origins,
          token: settings.token === undefined ? undefined : resolveSecretString(settings.token, 'codec.server.token'),
          maxBodyBytes: settings.max_body_bytes,
          logger,
        });
        const bound = await server.start().catch((err: NodeJS.ErrnoException) => {
          throw portError(err, host, listenPort, flags.port === undefined ? 'codec.server.port' : '--port');
        });
        context.io.out(`codec server listening on http://${host}:${bound} (POST /encode, /decode)`);
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
      }),
    );
}
