// prism cdc: run and steer CDC pipelines (one workflow per pipeline, id `cdc-<pipeline>`).
//   prism cdc start --input <json>|@<file> [--id <workflow-id>]   validates, starts, prints the UI link
//   prism cdc status <pipeline|workflow-id> [--json]              position, lag, events/s, totals
//   prism cdc pause|resume <pipeline|workflow-id>
//   prism cdc stop <pipeline|workflow-id>                         finishes the batch in flight, keeps the slot
//   prism cdc drop <pipeline|workflow-id>                         stops and drops the slot and publication
import { parseArgs } from 'node:util';
import { PrismClient } from '../../client/prism-client';
import { cdcPipelineInput } from '../../workflows/cdc/input';
import { CDC } from '../../workflows/cdc/slots';
import type { CdcStatus } from '../../workflows/cdc/status';
import { describeIssues } from '../../workflows/input';
import { parseJsonInput, UsageError, type Command, type Io } from '../io';

const USAGE = `usage:
  prism cdc start --input <json>|@<file> [--id <workflow-id>]
  prism cdc status <pipeline|workflow-id> [--json]
  prism cdc pause|resume|stop|drop <pipeline|workflow-id>`;

export function pipelineWorkflowId(nameOrId: string): string {
  return nameOrId.startsWith(`${CDC}-`) ? nameOrId : `${CDC}-${nameOrId}`;
}

export function formatStatus(s: CdcStatus): string[] {
  const bytes = s.lagBytes === null ? 'unknown' : `${s.lagBytes} bytes`;
  return [
    `pipeline:    ${s.pipeline}`,
    `state:       ${s.state} (run ${s.run})`,
    `last lsn:    ${s.lastLsn ?? '-'}`,
    `lag:         ${bytes}, ${s.lagSeconds.toFixed(1)} s`,
    `events/s:    ${s.eventsPerSecond}`,
    `totals:      ${s.totals.eventsDelivered} delivered, ${s.totals.filtered} filtered, ` +
      `${s.totals.changesRead} read, ${s.totals.batches} batches`,
    `last batch:  ${s.lastBatchAt ?? '-'}`,
    // Outbox mode only (older runs' status has no outboxLag field).
    ...(s.outboxLag
      ? [
          `outbox lag:  ${s.outboxLag.unpublished} unpublished, oldest ${s.outboxLag.oldestAgeSeconds.toFixed(1)} s ` +
            `(${s.outboxLag.oldestUnpublishedAt ?? '-'})`,
        ]
      : []),
    // Older runs' status has no snapshot field.
    ...(s.snapshot
      ? [
          `snapshot:    ${s.snapshot.state}, ${s.snapshot.rowsDone}/${s.snapshot.rows} rows (at ${s.snapshot.lsn ?? '-'})`,
        ]
      : []),
  ];
}

async function withClient<T>(fn: (client: PrismClient) => Promise<T>): Promise<T> {
  const client = await PrismClient.connect();
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

function oneTarget(positionals: string[], command: string): string {
  if (positionals.length !== 1) throw new UsageError(`cdc ${command} takes exactly one pipeline name or workflow id`);
  return pipelineWorkflowId(positionals[0]!);
}

async function start(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { input: { type: 'string' }, id: { type: 'string' } },
  });
  if (positionals.length > 0) throw new UsageError('cdc start takes its pipeline as --input');
  const input = parseJsonInput(values.input);
  const parsed = cdcPipelineInput.safeParse(input);
  if (!parsed.success) throw new UsageError(describeIssues(parsed.error, '--input'));
  const workflowId = values.id ?? pipelineWorkflowId(parsed.data.pipeline);
  return withClient(async (client) => {
    const started = await client.start('cdcPipelineWorkflow', [input], { pattern: CDC, workflowId });
    io.out(`pipeline:    ${parsed.data.pipeline}`);
    io.out(`workflow id: ${started.workflowId}`);
    io.out(`run id:      ${started.runId}`);
    io.out(`ui:          ${started.uiUrl}`);
    io.out(`status:      prism cdc status ${parsed.data.pipeline}`);
    return 0;
  });
}

async function status(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false } },
  });
  const id = oneTarget(positionals, 'status');
  return withClient(async (client) => {
    const s = await client.handle(id).query<CdcStatus>('status');
    if (values.json) io.out(JSON.stringify(s));
    else for (const line of [...formatStatus(s), `ui:          ${client.uiUrl(id)}`]) io.out(line);
    return 0;
  });
}

function control(action: 'pause' | 'resume' | 'stop' | 'drop'): Command {
  return async (args, io) => {
    const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
    const id = oneTarget(positionals, action);
    return withClient(async (client) => {
      const handle = client.handle(id);
      const s = await handle.executeUpdate<CdcStatus, ['pause' | 'resume' | 'stop' | 'drop']>('control', {
        args: [action],
      });
      io.out(`${s.pipeline}: ${s.state}`);
      if (action === 'stop' || action === 'drop') {
        const final = (await handle.result()) as CdcStatus;
        io.out(`${final.pipeline}: ${final.state}${action === 'drop' ? ' (slot and publication dropped)' : ''}`);
      }
      return 0;
    });
  };
}

const SUBCOMMANDS: Record<string, Command> = {
  start,
  status,
  pause: control('pause'),
  resume: control('resume'),
  stop: control('stop'),
  drop: control('drop'),
};

export const cdcCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  const handler = sub === undefined ? undefined : SUBCOMMANDS[sub];
  if (!handler) {
    if (sub === undefined || sub === 'help' || sub === '--help') {
      io.out(USAGE);
      return sub === undefined ? 2 : 0;
    }
    throw new UsageError(`unknown cdc command "${sub}"\n${USAGE}`);
  }
  return handler(rest, io);
};
