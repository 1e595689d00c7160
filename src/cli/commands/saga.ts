// prism saga: start the order example or a declarative saga, query a saga's status, list sagas by status.
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { describeIssues } from '../../workflows/input';
import { declarativeSagaWorkflow } from '../../workflows/saga/declarative-workflow';
import { validateDefinition } from '../../workflows/saga/definition';
import { orderSagaInput } from '../../workflows/saga/order-input';
import { orderSagaWorkflow } from '../../workflows/saga/order-workflow';
import type { SagaState } from '../../workflows/saga/plan';
import { SAGA } from '../../workflows/saga/slots';
import { act, examples, type CliContext } from '../command-kit';
import { parseJsonInput, UsageError } from '../io';
import { waitWatched } from '../no-poller-warning';
import type { PrismClient, Started } from '../../client/prism-client';
import { outputOption, print, recordLines, tableLines, type OutputFormat } from '../output';
import { withTemporal, withTemporalOptions, type TemporalFlags } from '../temporal';

const STATUSES = ['running', 'compensating', 'completed', 'compensated', 'compensation_failed'] as const;

function readDefinition(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--definition: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    return parseYaml(text) as unknown; // YAML is a superset of JSON: one parser for both
  } catch (err) {
    throw new UsageError(`--definition: not valid YAML/JSON (${(err as Error).message})`);
  }
}

interface StartFlags extends TemporalFlags {
  input?: string;
  definition?: string;
  id?: string;
  wait?: boolean;
}

function start(context: CliContext): Command {
  const { io } = context;
  return withTemporalOptions(
    new Command('start')
      .description('start the order saga, or a saga declared in a YAML/JSON file')
      .argument('[saga]', 'a built-in saga: "order" (omit with --definition)')
      .option('--input <json|@file>', 'the saga input as JSON, or @ and a file holding it')
      .option('--definition <file>', 'a declarative saga (YAML or JSON)')
      .option('--id <workflow-id>', 'workflow id (default: saga-<uuid>)')
      .option('--wait', 'wait for the outcome; exit 1 unless the saga completed'),
  )
    .addHelpText(
      'after',
      examples(
        `prism saga start order --wait --input '{"orderId":"o-1","sku":"blue-mug","quantity":2,"customer":"alice","amount":2400,"openingStock":100,"openingBalance":100000}'`,
        'prism saga start --definition examples/saga/order.yaml --input @examples/saga/order-input.json',
      ),
    )
    .action(
      act(context, async (command) => {
        const [name] = command.processedArgs as [string | undefined];
        const flags = command.opts<StartFlags>();
        const input = parseJsonInput(flags.input);
        // Started by function reference: the argument and the result are typed from the workflow.
        let startSaga: (
          client: PrismClient,
        ) => Promise<Started<typeof orderSagaWorkflow | typeof declarativeSagaWorkflow>>;
        if (flags.definition !== undefined) {
          if (name !== undefined) throw new UsageError('saga start takes either a saga name or --definition');
          const definition = readDefinition(flags.definition);
          const { problems } = validateDefinition(definition, input);
          if (problems.length > 0) throw new UsageError(`invalid saga definition:\n  ${problems.join('\n  ')}`);
          const arg = { definition, input } as Parameters<typeof declarativeSagaWorkflow>[0];
          startSaga = (client) => client.start(declarativeSagaWorkflow, [arg], { pattern: SAGA, workflowId: flags.id });
        } else {
          if (name !== 'order') throw new UsageError('saga start: name the saga ("order") or give --definition <file>');
          const parsed = orderSagaInput.safeParse(input);
          if (!parsed.success) throw new UsageError(describeIssues(parsed.error, '--input'));
          const arg = input as Parameters<typeof orderSagaWorkflow>[0];
          const memo = { orderId: parsed.data.orderId };
          startSaga = (client) => client.start(orderSagaWorkflow, [arg], { pattern: SAGA, workflowId: flags.id, memo });
        }
        return withTemporal(flags, async (client) => {
          const started = await startSaga(client);
          io.out(`workflow id: ${started.workflowId}`);
          io.out(`run id:      ${started.runId}`);
          io.out(`ui:          ${started.uiUrl}`);
          if (!flags.wait) return 0;
          const result = await waitWatched(client, io, started.handle.result());
          io.out(`status:      ${result.status}`);
          io.out(`result:      ${JSON.stringify(result)}`);
          return result.status === 'completed' ? 0 : 1;
        });
      }),
    );
}

function stateLines(state: SagaState): string[] {
  const lines = recordLines({
    saga: state.sagaId,
    status: state.status,
    'in flight': state.currentSteps.join(', ') || '-',
    'pivot passed': state.pivotPassed,
    ...(state.failure ? { failure: `${state.failure.step}: ${state.failure.error}` } : {}),
    ...(state.compensationFailure
      ? { 'compensation failure': `${state.compensationFailure.step}: ${state.compensationFailure.error}` }
      : {}),
  });
  const steps = Object.entries(state.steps).map(([step, o]) => [
    step,
    o.status,
    o.attempts,
    o.error ?? o.compensationError ?? '',
  ]);
  return steps.length === 0 ? lines : [...lines, '', ...tableLines(['step', 'status', 'attempts', 'error'], steps)];
}

function status(context: CliContext): Command {
  return withTemporalOptions(
    new Command('status')
      .description("a saga's state: status, steps in flight, each step's outcome")
      .argument('<workflow-id>', "the saga's workflow id")
      .addOption(outputOption()),
  )
    .addHelpText('after', examples('prism saga status saga-5d1a… -o json'))
    .action(
      act(context, async (command) => {
        const [workflowId] = command.processedArgs as [string];
        const flags = command.opts<TemporalFlags & { output: OutputFormat }>();
        await withTemporal(flags, async (client) => {
          const state = await client.handle(workflowId).query<SagaState>('sagaStatus');
          print(context.io, flags.output, state, () => stateLines(state));
        });
      }),
    );
}

function list(context: CliContext): Command {
  return withTemporalOptions(
    new Command('list')
      .description('list sagas, optionally by status (from the PrismStatus search attribute)')
      .addOption(new Option('--status <status>', 'only sagas in this status').choices(STATUSES))
      .addOption(outputOption()),
  )
    .addHelpText('after', examples('prism saga list --status compensated'))
    .action(
      act(context, async (command) => {
        const flags = command.opts<TemporalFlags & { status?: string; output: OutputFormat }>();
        const query = `PrismPattern = '${SAGA}'` + (flags.status ? ` AND PrismStatus = '${flags.status}'` : '');
        await withTemporal(flags, async (client) => {
          const sagas: { workflowId: string; type: string; status: string | null; started: string }[] = [];
          for await (const w of client.temporal.workflow.list({ query })) {
            const s = w.searchAttributes?.PrismStatus;
            sagas.push({
              workflowId: w.workflowId,
              type: w.type,
              status: Array.isArray(s) ? String(s[0]) : null,
              started: w.startTime.toISOString(),
            });
          }
          print(context.io, flags.output, sagas, () =>
            tableLines(
              ['workflow id', 'type', 'status', 'started'],
              sagas.map((s) => [s.workflowId, s.type, s.status, s.started]),
            ),
          );
        });
      }),
    );
}

export function sagaCommand(context: CliContext): Command {
  const saga = new Command('saga')
    .description('sagas: steps with compensations, typed or declared in YAML')
    .addHelpText(
      'after',
      examples('prism saga start order --input @examples/saga/order-input.json --wait', 'prism saga list'),
    );
  for (const make of [start, status, list]) saga.addCommand(make(context));
  return saga;
}
