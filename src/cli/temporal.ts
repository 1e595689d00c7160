// The flags of every command that talks to Temporal, and the client they open. A flag wins; then
// the worker config PRISM_CONFIG names (its temporal section); then PRISM_TEMPORAL_ADDRESS,
// PRISM_NAMESPACE, PRISM_TASK_QUEUE; then the local dev server's defaults (see PrismClient).
import { Option, type Command } from 'commander';
import type { PrismConfig } from '../config/schema';
import { PrismClient } from '../client/prism-client';

export interface TemporalFlags {
  address?: string;
  namespace?: string;
  taskQueue?: string;
}

const TEMPORAL_GROUP = 'Temporal options:';

/** Where a flag left out comes from: for clients the environment, for the worker its config file. */
const FALLBACKS = {
  client: {
    address: '$PRISM_TEMPORAL_ADDRESS or 127.0.0.1:7233',
    namespace: '$PRISM_NAMESPACE or "default"',
    taskQueue: '$PRISM_TASK_QUEUE or "prism"',
  },
  worker: {
    address: "the config's temporal.address",
    namespace: "the config's temporal.namespace",
    taskQueue: "the config's temporal.task_queue",
  },
} as const;

export function withTemporalOptions(command: Command, fallback: keyof typeof FALLBACKS = 'client'): Command {
  const from = FALLBACKS[fallback];
  return command
    .addOption(
      new Option('--address <host:port>', `Temporal frontend (default: ${from.address})`).helpGroup(TEMPORAL_GROUP),
    )
    .addOption(
      new Option('--namespace <name>', `Temporal namespace (default: ${from.namespace})`).helpGroup(TEMPORAL_GROUP),
    )
    .addOption(
      new Option('--task-queue <name>', `the worker's task queue (default: ${from.taskQueue})`).helpGroup(
        TEMPORAL_GROUP,
      ),
    );
}

export function connect(flags: TemporalFlags, config?: PrismConfig): Promise<PrismClient> {
  return PrismClient.connect({
    address: flags.address,
    namespace: flags.namespace,
    taskQueue: flags.taskQueue,
    config,
  });
}

/** Runs `fn` with a connected client and closes it whatever happens. */
export async function withTemporal<T>(
  flags: TemporalFlags,
  fn: (client: PrismClient) => Promise<T>,
  config?: PrismConfig,
): Promise<T> {
  const client = await connect(flags, config);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}
