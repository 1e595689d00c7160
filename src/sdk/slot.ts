// Slots: what a pattern asks of a backend, by capability. Pure: workflow code imports this to
// type its slot proxies, the worker to match config against drivers.
import type { Capability } from '../drivers/capabilities';

export interface SlotSpec<C extends Capability = Capability> {
  requires: readonly C[];
  /** An optional slot may be left out of the config; the workflow then gets no binding. */
  optional?: boolean;
  description?: string;
}

export type SlotSpecs = Record<string, SlotSpec>;

/** Declares a slot, keeping its capabilities as literal types. */
export function slot<const C extends Capability>(
  requires: readonly C[],
  options: Omit<SlotSpec<C>, 'requires'> = {},
): SlotSpec<C> {
  return { requires, ...options };
}

/** Where a slot's calls go at run time: resolved by the worker from config, recorded in history. */
export interface SlotBinding {
  pattern: string;
  slot: string;
  backend: string;
  driver: string;
  taskQueue: string;
  capabilities: Capability[];
  activity: SlotActivityOptions;
}

/** Activity options from config, as plain data (durations in milliseconds). */
export interface SlotActivityOptions {
  startToCloseTimeoutMs: number;
  heartbeatTimeoutMs: number;
  retry: {
    initialIntervalMs: number;
    backoffCoefficient: number;
    maximumIntervalMs: number;
    maximumAttempts: number;
    nonRetryableErrorTypes: string[];
  };
}

export type SlotBindings = Record<string, SlotBinding>;

/** Activity type names: capability operations are `<capability>.<operation>`, pattern ones `<pattern>.<slot>.<name>`. */
export function capabilityActivityName(capability: Capability, operation: string): string {
  return `${capability}.${operation}`;
}

export function patternActivityName(pattern: string, slotName: string, activity: string): string {
  return `${pattern}.${slotName}.${activity}`;
}

export function backendTaskQueue(baseQueue: string, backend: string): string {
  return `${baseQueue}.backend.${backend}`;
}

/** The local activity that resolves a pattern's slot bindings at the start of a workflow. */
export const RESOLVE_SLOTS_ACTIVITY = 'prism.resolveSlots';
