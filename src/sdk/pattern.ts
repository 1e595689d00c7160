// definePattern: the one way patterns are made, built-in or the user's. A pattern names its
// slots (capabilities it needs), its workflows, the activities it runs against each slot's
// driver, and the schema of its settings.
import type { WorkflowClient } from '@temporalio/client';
import type { z } from 'zod';
import type { Ops } from '../drivers/capabilities';
import type { BackendHandle } from './backend-handle';
import type { InputCheck } from './input-check';
import type { SlotSpecs } from './slot';

// Activity functions take and return data the payload converter can carry.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parameter lists vary per activity
export type ActivityFunction = (...args: any[]) => Promise<unknown>;
export type ActivityMap = Record<string, ActivityFunction>;

export interface PatternActivityContext<Settings> {
  pattern: string;
  slot: string;
  /** For an element of a list slot: its position in the config's list. */
  index?: number;
  backend: string;
  settings: Settings;
  /**
   * Every slot of the pattern bound on this worker (a list slot: its elements in config order),
   * as guarded handles: an activity that must reach another slot's backend too (a multicast page
   * scans the registry and publishes on the messaging slot) calls it through that backend's guard.
   */
  slots: Readonly<Record<string, BackendHandle | readonly BackendHandle[]>>;
}

/** Per slot, the pattern's own activities on its driver; a list slot's factory runs once per element. */
export type SlotActivityFactories<S extends SlotSpecs, Settings> = {
  [K in keyof S]?: (driver: Ops<S[K]['requires'][number]>, context: PatternActivityContext<Settings>) => ActivityMap;
};

export interface PatternDefinition<S extends SlotSpecs = SlotSpecs, Settings = unknown> {
  name: string;
  description?: string;
  slots: S;
  /** Workflow type names this pattern runs (exported by the workflow bundle). */
  workflows: readonly string[];
  /** Path of a module exporting the workflows, for patterns outside the built-in bundle. */
  workflowsPath?: string;
  /**
   * By workflow type (one of `workflows`), how to check its input before starting it
   * (`schemaCheck(schema)` for the zod schema the workflow parses with). `prism start` refuses an
   * input with problems, naming each field, and starts nothing.
   */
  inputs?: Readonly<Record<string, InputCheck>>;
  settingsSchema?: z.ZodType<Settings>;
  /** Activities bound to a slot's driver; each runs on that slot's backend task queue, guarded. */
  slotActivities?: SlotActivityFactories<S, Settings>;
  /**
   * Checks across settings and slots that no schema can express, run at start-up once both are
   * valid. Returns problems, each starting with its field under the pattern (`settings.regions.eu[1]: …`).
   */
  checkConfig?: (config: PatternConfigView<S, Settings>) => string[];
  /**
   * Checks against the Temporal namespace the worker serves, run once connected (e.g. that a
   * retention is not shorter than the namespace's). Returns problems like checkConfig; the
   * worker refuses to start when there are any.
   */
  checkNamespace?: (namespace: PatternNamespaceView<Settings>) => string[];
  /**
   * Runs once the worker is connected, before it polls: e.g. start the pattern's long-lived
   * workflows, idempotently by workflow id. A failure is logged and does not stop the worker.
   */
  onWorkerStart?: (context: PatternStartContext<Settings>) => Promise<void>;
}

/** What onWorkerStart gets: the pattern's settings and a Temporal client on the worker's namespace. */
export interface PatternStartContext<Settings> {
  settings: Settings;
  client: WorkflowClient;
  /** The worker's workflow task queue. */
  taskQueue: string;
}

/** What checkNamespace sees: the parsed settings and the namespace as Temporal describes it. */
export interface PatternNamespaceView<Settings> {
  settings: Settings;
  namespace: string;
  /** How long Temporal keeps a closed workflow's history; null when the namespace does not say. */
  workflowRetentionMs: number | null;
}

/** What checkConfig sees: the parsed settings and the backend names bound to each slot. */
export interface PatternConfigView<S extends SlotSpecs, Settings> {
  settings: Settings;
  slots: { [K in keyof S]?: string | string[] };
}

/** Identity with type inference: `definePattern({ name, slots: { store: slot(['keyvalue_basic']) }, … })`. */
export function definePattern<const S extends SlotSpecs, Settings = Record<string, unknown>>(
  definition: PatternDefinition<S, Settings>,
): PatternDefinition<S, Settings> {
  return definition;
}

/** Patterns by name, as the worker sees them. */
export class PatternRegistry {
  private readonly patterns = new Map<string, PatternDefinition>();

  register<S extends SlotSpecs, Settings>(definition: PatternDefinition<S, Settings>): this {
    if (this.patterns.has(definition.name))
      throw new Error(`a pattern named "${definition.name}" is already registered`);
    const unknown = Object.keys(definition.inputs ?? {}).filter((w) => !definition.workflows.includes(w));
    if (unknown.length > 0)
      throw new Error(`pattern "${definition.name}": inputs names workflows it does not run: ${unknown.join(', ')}`);
    this.patterns.set(definition.name, definition as unknown as PatternDefinition);
    return this;
  }

  get(name: string): PatternDefinition | undefined {
    return this.patterns.get(name);
  }

  names(): string[] {
    return [...this.patterns.keys()].sort();
  }
}
