// prism saga: start the order example or a declarative saga, query a saga's status, list sagas by status.
//   prism saga start order --input <json>|@<file> [--id <id>] [--wait]
//   prism saga start --definition <file.yaml|json> [--input <json>|@<file>] [--id <id>] [--wait]
//   prism saga status <workflow-id>
//   prism saga list [--status running|compensating|completed|compensated|compensation_failed]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { PrismClient } from '../../client/prism-client';
import { describeIssues } from '../../workflows/input';
import { validateDefinition } from '../../workflows/saga/definition';
import { orderSagaInput } from '../../workflows/saga/order-input';
import type { SagaState } from '../../workflows/saga/plan';
import { SAGA } from '../../workflows/saga/slots';
import { parseJsonInput, UsageError, type Command, type Io } from '../io';

const STATUSES = ['running', 'compensating', 'completed', 'compensated', 'compensation_failed'];

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

async function start(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      input: { type: 'string' },
      definition: { type: 'string' },
      id: { type: 'string' },
      wait: { type: 'boolean', default: false },
    },
  });
  const input = parseJsonInput(values.input);
  let workflow: string;
  let workflowArg: unknown;
  if (values.definition !== undefined) {
    if (positionals.length > 0) throw new UsageError('saga start takes either a saga name or --definition');
    const definition = readDefinition(values.definition);
    const { problems } = validateDefinition(definition, input);
    if (problems.length > 0) throw new UsageError(`invalid saga definition:\n  ${problems.join('\n  ')}`);
    workflow = 'declarativeSagaWorkflow';
    workflowArg = { definition, input };
  } else {
    if (positionals.length !== 1 || positionals[0] !== 'order') {
      throw new UsageError('saga start: name the saga ("order") or give --definition <file>');
    }
    const parsed = orderSagaInput.safeParse(input);
    if (!parsed.success) throw new UsageError(describeIssues(parsed.error, '--input'));
    workflow = 'orderSagaWorkflow';
    workflowArg = input;
  }
  const client = await PrismClient.connect();
  try {
    const started = await client.start(workflow, [workflowArg], { pattern: SAGA, workflowId: values.id });
    io.out(`workflow id: ${started.workflowId}`);
    io.out(`run id:      ${started.runId}`);
    io.out(`ui:          ${started.uiUrl}`);
    if (values.wait) {
      const result = (await started.handle.result()) as { status: string };
      io.out(`status:      ${result.status}`);
      io.out(`result:      ${JSON.stringify(result)}`);
      return result.status === 'completed' ? 0 : 1;
    }
    return 0;
  } finally {
    await client.close();
  }
}

async function status(args: string[], io: Io): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (positionals.length !== 1) throw new UsageError('saga status takes exactly one workflow id');
  const client = await PrismClient.connect();
  try {
    const state = await client.handle(positionals[0]).query<SagaState>('sagaStatus');
    io.out(JSON.stringify(state, null, 2));
    return 0;
  } finally {
    await client.close();
  }
}

async function list(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args, options: { status: { type: 'string' } } });
  if (values.status !== undefined && !STATUSES.includes(values.status)) {
    throw new UsageError(`--status: expected one of ${STATUSES.join(', ')}`);
  }
  const query = `PrismPattern = '${SAGA}'` + (values.status ? ` AND PrismStatus = '${values.status}'` : '');
  const client = await PrismClient.connect();
  try {
    for await (const w of client.temporal.workflow.list({ query })) {
      const s = w.searchAttributes?.PrismStatus;
      io.out(`${w.workflowId}\t${w.type}\t${Array.isArray(s) ? String(s[0]) : '-'}\t${w.startTime.toISOString()}`);
    }
    return 0;
  } finally {
    await client.close();
  }
}

export const sagaCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'start':
      return start(rest, io);
    case 'status':
      return status(rest, io);
    case 'list':
      return list(rest, io);
    default:
      throw new UsageError(
        'usage: prism saga start order --input <json> | start --definition <file> --input <json> | status <id> | list [--status S]',
      );
  }
};
