// Declarative sagas (YAML/JSON), validated before start, pure: the CLI refuses a bad definition
// before starting anything and the workflow refuses it again before any work. Every problem names
// its field: `definition.steps[2].compensate.op: unknown operation …`.
import { z } from 'zod';
import { CAPABILITY_OPERATIONS, type Capability } from '../../drivers/capabilities';
import { describeIssues } from '../input';
import { checkStages, type StepShape } from './logic';
import { hasPath, isValidPath, templateReferences } from './template';
import { SAGA_SLOT_ACTIVITIES, sagaSlots, type SagaSlotName } from './slots';

const duration = z.union([
  z.number().int().positive(),
  z.string().regex(/^\d+(\.\d+)?\s*(ms|s|m|h)$/, 'expected a duration like "500ms", "10s" or "1m"'),
]);

const retrySchema = z
  .object({
    maximumAttempts: z.number().int().min(1).optional(),
    initialInterval: duration.optional(),
    backoffCoefficient: z.number().min(1).max(10).optional(),
    maximumInterval: duration.optional(),
    nonRetryableErrorTypes: z.array(z.string()).optional(),
  })
  .strict();

const callFields = {
  slot: z.string().min(1),
  /** `<capability>.<operation>` (a driver operation) or the name of one of the slot's saga activities. */
  op: z.string().min(1),
  args: z.array(z.unknown()).default([]),
  retry: retrySchema.optional(),
  timeout: duration.optional(),
};

const compensationSchema = z.object(callFields).strict();

const stepSchema = z
  .object({
    name: z.string().min(1),
    ...callFields,
    compensate: compensationSchema.optional(),
    pivot: z.boolean().optional(),
    /** Compensate this step even when its action failed (its compensation checks what was applied). */
    compensateOnFailure: z.boolean().optional(),
    /** Template: `${sagaId}`, `${step}`, `${input.…}` (default `${sagaId}:${step}`). */
    idempotencyKey: z.string().min(1).optional(),
  })
  .strict();

const parallelSchema = z.object({ parallel: z.array(z.unknown()).min(1) }).strict();

const definitionSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    steps: z.array(z.unknown()).min(1),
  })
  .strict();

export type CallDefinition = z.output<typeof compensationSchema>;
export type StepDefinition = z.output<typeof stepSchema>;
export interface DeclarativeSaga {
  name: string;
  description?: string;
  /** Stages: one step, or the steps of a parallel group. */
  stages: StepDefinition[][];
}

export interface Validation {
  saga?: DeclarativeSaga;
  problems: string[];
}

const ROOTS = new Set(['input', 'steps', 'sagaId', 'step', 'idempotencyKey']);

function operationsOf(slot: SagaSlotName): string[] {
  const capabilityOps = (sagaSlots[slot].requires as readonly Capability[]).flatMap((c) =>
    (CAPABILITY_OPERATIONS[c] as readonly string[]).map((op) => `${c}.${op}`),
  );
  return [...capabilityOps, ...SAGA_SLOT_ACTIVITIES[slot]];
}

function isSlot(name: string): name is SagaSlotName {
  return Object.prototype.hasOwnProperty.call(sagaSlots, name);
}

/**
 * Checks a definition against the schema and the saga's input: slots and operations exist,
 * templates refer to values that will exist (input fields, results of steps that run earlier),
 * step names are unique.
 */
export function validateDefinition(raw: unknown, input: unknown, root = 'definition'): Validation {
  const top = definitionSchema.safeParse(raw);
  if (!top.success) return { problems: describeIssues(top.error, root).split('; ') };
  const problems: string[] = [];
  const stages: StepDefinition[][] = [];
  const paths = new Map<string, string>();

  top.data.steps.forEach((entry, i) => {
    const isGroup = entry !== null && typeof entry === 'object' && 'parallel' in entry;
    if (isGroup) {
      const group = parallelSchema.safeParse(entry);
      if (!group.success) {
        problems.push(...describeIssues(group.error, `${root}.steps[${i}]`).split('; '));
        return;
      }
      const steps: StepDefinition[] = [];
      group.data.parallel.forEach((s, j) => {
        const parsed = stepSchema.safeParse(s);
        const path = `${root}.steps[${i}].parallel[${j}]`;
        if (!parsed.success) problems.push(...describeIssues(parsed.error, path).split('; '));
        else {
          steps.push(parsed.data);
          if (!paths.has(parsed.data.name)) paths.set(parsed.data.name, path);
        }
      });
      stages.push(steps);
      return;
    }
    const parsed = stepSchema.safeParse(entry);
    const path = `${root}.steps[${i}]`;
    if (!parsed.success) problems.push(...describeIssues(parsed.error, path).split('; '));
    else {
      stages.push([parsed.data]);
      if (!paths.has(parsed.data.name)) paths.set(parsed.data.name, path);
    }
  });
  if (problems.length > 0) return { problems };

  const shapes: StepShape[][] = stages.map((stage) =>
    stage.map((s) => ({
      name: s.name,
      pivot: s.pivot === true,
      compensable: s.compensate !== undefined,
      compensateOnFailure: s.compensateOnFailure === true,
    })),
  );
  problems.push(...checkStages(shapes).map((p) => `${root}.${p}`));

  const stageOf = new Map<string, number>();
  stages.forEach((stage, i) => stage.forEach((s) => stageOf.set(s.name, stageOf.get(s.name) ?? i)));

  const checkCall = (call: CallDefinition, path: string): void => {
    if (!isSlot(call.slot)) {
      problems.push(`${path}.slot: unknown slot "${call.slot}" (slots: ${Object.keys(sagaSlots).join(', ')})`);
      return;
    }
    const known = operationsOf(call.slot);
    if (!known.includes(call.op)) {
      problems.push(`${path}.op: unknown operation "${call.op}" for slot "${call.slot}" (known: ${known.join(', ')})`);
    }
  };

  // Which steps' results a template may use: those of earlier stages (and, for a compensation, its own).
  const checkTemplates = (value: unknown, path: string, stage: number, self: string | undefined): void => {
    for (const ref of templateReferences(value)) {
      const where = `${path}: \${${ref}}`;
      if (!isValidPath(ref)) {
        problems.push(`${where} is not a valid reference`);
        continue;
      }
      const [head, ...rest] = ref.split('.');
      if (!ROOTS.has(head)) {
        problems.push(`${where} refers to "${head}" (known: ${[...ROOTS].join(', ')})`);
      } else if (head === 'input') {
        if (rest.length > 0 && !hasPath(input, rest.join('.'))) {
          problems.push(`${where} refers to a missing value: the saga input has no ${rest.join('.')}`);
        }
      } else if (head === 'steps') {
        const [target, field] = rest;
        const at = target === undefined ? undefined : stageOf.get(target);
        if (target === undefined || field !== 'result') {
          problems.push(`${where}: a step reference reads steps.<name>.result…`);
        } else if (at === undefined) {
          problems.push(`${where} refers to a missing value: there is no step "${target}"`);
        } else if (!(at < stage || target === self)) {
          problems.push(`${where} refers to step "${target}", which does not complete before it (a cycle)`);
        }
      } else if (rest.length > 0) {
        problems.push(`${where}: ${head} has no fields`);
      }
    }
  };

  stages.forEach((stage, i) =>
    stage.forEach((s) => {
      const path = paths.get(s.name) ?? `${root}.steps[${i}]`;
      checkCall(s, path);
      checkTemplates(s.args, `${path}.args`, i, undefined);
      if (s.idempotencyKey !== undefined) checkTemplates(s.idempotencyKey, `${path}.idempotencyKey`, i, undefined);
      if (s.compensate) {
        checkCall(s.compensate, `${path}.compensate`);
        checkTemplates(s.compensate.args, `${path}.compensate.args`, i, s.name);
      }
    }),
  );

  if (problems.length > 0) return { problems };
  return { saga: { name: top.data.name, description: top.data.description, stages }, problems };
}
