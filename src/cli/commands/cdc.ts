// prism cdc: run and steer CDC pipelines (one workflow per pipeline, id `cdc-<pipeline>`).
//   start    validates the pipeline, starts it, prints the UI link
//   status   position, lag, events/s, totals
//   pause | resume
//   stop     finishes the batch in flight, keeps the slot
//   drop     stops and drops the slot and publication
import { Command } from 'commander';
import {
  cdcPipelineInput,
  removedInLogicalMode,
  type CdcPipeline,
  type CdcPipelineInput,
} from '../../workflows/cdc/input';
import { cdcPipelineWorkflow } from '../../workflows/cdc/workflow';
import { CDC } from '../../workflows/cdc/slots';
import { pipelineStatus } from '../../client/cdc';
import type { CdcStatus } from '../../workflows/cdc/logic';
import { describeIssues } from '../../workflows/input';
import { act, examples, type CliContext } from '../command-kit';
import { parseJsonInput, UsageError } from '../io';
import { outputOption, print, type OutputFormat } from '../output';
import { withTemporal, withTemporalOptions, type TemporalFlags } from '../temporal';

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

const TARGET = ['<pipeline>', 'pipeline name or its workflow id (cdc-<pipeline>)'] as const;

function start(context: CliContext): Command {
  const { io } = context;
  return withTemporalOptions(
    new Command('start')
      .description('validate a pipeline and start it')
      .requiredOption('--input <json|@file>', 'the pipeline as JSON, or @ and a file holding it')
      .option('--id <workflow-id>', 'workflow id (default: cdc-<pipeline>)'),
  )
    .addHelpText('after', examples(`prism cdc start --input '{"pipeline":"orders","tables":["public.orders"]}'`))
    .action(
      act(context, async (command) => {
        const flags = command.opts<TemporalFlags & { input: string; id?: string }>();
        const { input, pipeline } = checkedPipeline(parseJsonInput(flags.input));
        const workflowId = flags.id ?? pipelineWorkflowId(pipeline.pipeline);
        await withTemporal(flags, async (client) => {
          const started = await client.start(cdcPipelineWorkflow, [input], {
            pattern: CDC,
            workflowId,
            memo: { pipeline: pipeline.pipeline },
            summary: pipelineSummary(pipeline),
          });
          io.out(`pipeline:    ${pipeline.pipeline}`);
          io.out(`workflow id: ${started.workflowId}`);
          io.out(`run id:      ${started.runId}`);
          io.out(`ui:          ${started.uiUrl}`);
          io.out(`status:      prism cdc status ${pipeline.pipeline}`);
        });
      }),
    );
}

/**
 * The input as written (the workflow fills in defaults itself: a default written out would be
 * refused in logical mode), once the schema accepts it, and the pipeline it describes.
 */
function checkedPipeline(input: unknown): { input: CdcPipelineInput; pipeline: CdcPipeline } {
  const parsed = cdcPipelineInput.safeParse(input);
  if (!parsed.success) throw new UsageError(describeIssues(parsed.error, '--input'));
  const removed = removedInLogicalMode(input);
  if (removed) throw new UsageError(`--input.${removed}`);
  return { input: input as CdcPipelineInput, pipeline: parsed.data };
}

/** The one line the Temporal UI shows for a pipeline's execution: what it reads and how it delivers. */
function pipelineSummary(p: CdcPipeline): string {
  const from = p.mode === 'outbox' ? `outbox ${p.outbox.table}` : p.tables.join(', ');
  const line = `CDC ${p.pipeline}: ${from} → ${p.sink}`;
  return line.length <= 160 ? line : `${line.slice(0, 159)}…`;
}

function status(context: CliContext): Command {
  return withTemporalOptions(
    new Command('status')
      .description("a pipeline's position, lag, events/s and totals")
      .argument(...TARGET)
      .addOption(outputOption()),
  )
    .addHelpText('after', examples('prism cdc status demo', 'prism cdc status demo -o json'))
    .action(
      act(context, async (command) => {
        const id = pipelineWorkflowId((command.processedArgs as [string])[0]);
        const flags = command.opts<TemporalFlags & { output: OutputFormat }>();
        await withTemporal(flags, async (client) => {
          const s = await pipelineStatus(client.handle(id));
          print(context.io, flags.output, s, () => [...formatStatus(s), `ui:          ${client.uiUrl(id)}`]);
        });
      }),
    );
}

const CONTROLS = {
  pause: 'pause a pipeline (its slot keeps the position)',
  resume: 'resume a paused pipeline',
  stop: 'stop a pipeline after the batch in flight; keeps the slot and publication',
  drop: 'stop a pipeline and drop its slot and publication',
} as const;

function control(context: CliContext, action: keyof typeof CONTROLS): Command {
  const { io } = context;
  return withTemporalOptions(new Command(action).description(CONTROLS[action]).argument(...TARGET))
    .addHelpText('after', examples(`prism cdc ${action} demo`))
    .action(
      act(context, async (command) => {
        const id = pipelineWorkflowId((command.processedArgs as [string])[0]);
        await withTemporal(command.opts<TemporalFlags>(), async (client) => {
          const handle = client.handle(id);
          const s = await handle.executeUpdate<CdcStatus, [keyof typeof CONTROLS]>('control', { args: [action] });
          io.out(`${s.pipeline}: ${s.state}`);
          if (action === 'stop' || action === 'drop') {
            const final = (await handle.result()) as CdcStatus;
            io.out(`${final.pipeline}: ${final.state}${action === 'drop' ? ' (slot and publication dropped)' : ''}`);
          }
        });
      }),
    );
}

export function cdcCommand(context: CliContext): Command {
  const cdc = new Command('cdc')
    .description('CDC pipelines: Postgres changes or an outbox to Kafka or NATS')
    .addHelpText('after', examples('prism cdc status demo'));
  cdc.addCommand(start(context)).addCommand(status(context));
  for (const action of Object.keys(CONTROLS) as (keyof typeof CONTROLS)[]) cdc.addCommand(control(context, action));
  return cdc;
}
