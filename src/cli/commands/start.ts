// prism start <workflow> [--input <json>|@<file>] [--id <id>] [--wait]: any built-in workflow by name.
import { Command } from 'commander';
import { builtinPatterns } from '../../patterns/builtin';
import type { PatternDefinition } from '../../sdk/pattern';
import { act, examples, type CliContext } from '../command-kit';
import { parseJsonInput, UsageError } from '../io';
import { waitWatched } from '../no-poller-warning';
import { withTemporal, withTemporalOptions, type TemporalFlags } from '../temporal';

function patternOf(workflow: string): PatternDefinition {
  const registry = builtinPatterns();
  for (const name of registry.names()) {
    const pattern = registry.get(name)!;
    if (pattern.workflows.includes(workflow)) return pattern;
  }
  throw new UsageError(`unknown workflow "${workflow}"`);
}

/** Refuses, before anything starts, an input the workflow would refuse as its first step. */
function checkInput(pattern: PatternDefinition, workflow: string, input: unknown): void {
  const problems = pattern.inputs?.[workflow]?.(input, '--input') ?? [];
  if (problems.length > 0) throw new UsageError(`invalid input for ${workflow}:\n  ${problems.join('\n  ')}`);
}

interface StartFlags extends TemporalFlags {
  input?: string;
  id?: string;
  wait?: boolean;
}

export function startCommand(context: CliContext): Command {
  const { io } = context;
  return withTemporalOptions(
    new Command('start')
      .description('start a workflow of a built-in pattern (its input checked first) and print its id and UI link')
      .argument('<workflow>', 'workflow type, e.g. kvProbeWorkflow')
      .option('--input <json|@file>', 'the workflow input as JSON, or @ and a file holding it', '{}')
      .option('--id <workflow-id>', 'workflow id (default: <pattern>-<uuid>)')
      .option('--wait', 'wait for the result and print it (exit 1 if the workflow fails)'),
  )
    .addHelpText(
      'after',
      examples(
        `prism start kvProbeWorkflow --input '{"key":"greeting","value":"hello"}' --wait`,
        'prism start kvProbeWorkflow --input @examples/kv-probe/input.json',
      ),
    )
    .action(
      act(context, async (command) => {
        const [workflow] = command.processedArgs as [string];
        const flags = command.opts<StartFlags>();
        const pattern = patternOf(workflow);
        const input = parseJsonInput(flags.input);
        checkInput(pattern, workflow, input);
        return withTemporal(flags, async (client) => {
          const started = await client.start(workflow, [input], { pattern: pattern.name, workflowId: flags.id });
          io.out(`workflow id: ${started.workflowId}`);
          io.out(`run id:      ${started.runId}`);
          io.out(`ui:          ${started.uiUrl}`);
          if (flags.wait)
            io.out(`result:      ${JSON.stringify(await waitWatched(client, io, started.handle.result()))}`);
        });
      }),
    );
}
