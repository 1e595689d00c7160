// prism describe <workflow-id> [-o json|table]: an execution's type, status and times, with its UI link.
import { Command } from 'commander';
import { act, examples, type CliContext } from '../command-kit';
import { outputOption, print, recordLines, type OutputFormat } from '../output';
import { PRISM_PATTERN, PRISM_STATUS } from '../../workflows/search-attributes';
import { withTemporal, withTemporalOptions, type TemporalFlags } from '../temporal';

export function describeCommand(context: CliContext): Command {
  const { io } = context;
  return withTemporalOptions(
    new Command('describe')
      .description("show a workflow execution's type, status and times")
      .argument('<workflow-id>', 'the workflow id')
      .option('--run-id <run-id>', 'a particular run (default: the latest)')
      .addOption(outputOption()),
  )
    .addHelpText('after', examples('prism describe kv-probe-3f2c… -o json'))
    .action(
      act(context, async (command) => {
        const [workflowId] = command.processedArgs as [string];
        const flags = command.opts<TemporalFlags & { runId?: string; output: OutputFormat }>();
        await withTemporal(flags, async (client) => {
          const d = await client.handle(workflowId, flags.runId).describe();
          const record = {
            workflowId: d.workflowId,
            runId: d.runId,
            type: d.type,
            status: d.status.name,
            // A saga that compensated completes as a workflow: its outcome is the pattern's status.
            patternStatus: d.typedSearchAttributes.get(PRISM_STATUS) ?? null,
            pattern: d.typedSearchAttributes.get(PRISM_PATTERN) ?? null,
            summary: (await d.staticSummary()) ?? null,
            memo: d.memo ?? {},
            taskQueue: d.taskQueue,
            started: d.startTime.toISOString(),
            closed: d.closeTime?.toISOString() ?? null,
            ui: client.uiUrl(d.workflowId, d.runId),
          };
          print(io, flags.output, record, () => recordLines(record));
        });
      }),
    );
}
