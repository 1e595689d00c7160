// prism saga: start the order example or a declarative saga, query a saga's status, list sagas by status.
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { checkDefinition, checkOrderInput, SagaClient, SagaInputError } from '../../client/saga';
import type { SagaState, SagaStatus } from '../../workflows/saga/logic';
import { act, examples, type CliContext } from '../command-kit';
import { parseJsonObject, UsageError } from '../io';
import { waitWatched } from '../no-poller-warning';
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
        const input = parseJsonObject(flags.input ?? '{}', '--input');
        if (flags.definition !== undefined && name !== undefined)
          throw new UsageError('saga start takes either a saga name or --definition');
        if (flags.definition === undefined && name !== 'order')
          throw new UsageError('saga start: name the saga ("order") or give --definition <file>');
        const definition = flags.definition === undefined ? undefined : readDefinition(flags.definition);
        // Refused before connecting: a bad input is a usage error, whether or not Temporal is up.
        const order = definition === undefined ? refusedAsUsage(() => checkOrderInput(input, '--input')) : undefined;
        if (definition !== undefined) refusedAsUsage(() => checkDefinition(definition, input));
        return withTemporal(flags, async (client) => {
          const sagas = new SagaClient(client);
          const started =
            order !== undefined
              ? await sagas.startOrder(order, { workflowId: flags.id, field: '--input' })
              : await sagas.startDeclarative(definition, input, { workflowId: flags.id });
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

/** A refused input is the caller's mistake: exit 2 like any usage error. */
function refusedAsUsage<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof SagaInputError) throw new UsageError(err.message);
    throw err;
  }
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
          const state = await new SagaClient(client).status(workflowId);
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
        const flags = command.opts<TemporalFlags & { status?: SagaStatus; output: OutputFormat }>();
        await withTemporal(flags, async (client) => {
          const sagas = await new SagaClient(client).list(flags.status);
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
