// Slots: what a pattern asks of a backend, by capability. Pure: workflow code imports this to
// type its slot proxies, the worker to match config against drivers.
//
// A slot binds one backend (`store: redis-main`); a list slot binds an ordered list of them
// (`shards: [redis-a, redis-b]`), for patterns whose number of backends is the operator's choice.
// Every element of a list is matched against the slot's capabilities and is a backend of its own:
// its own task queue, circuit breaker and bulkhead.
import type { Capability } from '../drivers/capabilities';

export interface SlotSpec<C extends Capability = Capability> {
  requires: readonly C[];
  /** An optional slot may be left out of the config; the workflow then gets no binding. */
  optional?: boolean;
  description?: string;
}

/** A slot bound to a list of backends; `slot.list(requires, { min, max })` declares one. */
export interface ListSlotSpec<C extends Capability = Capability> {
  requires: readonly C[];
  list: true;
  /** Fewest backends the config may list; 0 lets it leave the slot out (the workflow gets []). */
  min: number;
  /** Most backends the config may list. */
  max: number;
  description?: string;
}

export type SlotSpecs = Record<string, SlotSpec | ListSlotSpec>;

export interface SlotOptions {
  optional?: boolean;
  description?: string;
}

export interface ListSlotOptions {
  /** Default 1. */
  min?: number;
  /** Default 64, at most {@link LIST_SLOT_LIMIT}. */
  max?: number;
  description?: string;
}

/** The most backends any list slot may hold (each one is a Temporal worker in the process). */
export const LIST_SLOT_LIMIT = 256;
const DEFAULT_LIST_MAX = 64;

export function isListSlot(spec: SlotSpec | ListSlotSpec): spec is ListSlotSpec {
  return 'list' in spec && spec.list === true;
}

/** `slot(…)` and `slot.list(…)`: how a pattern declares its slots. */
export interface SlotDeclarer {
  /**
   * A slot bound to one backend, keeping its capabilities as literal types:
   * `slot(['keyvalue_basic'])`, or `slot([…], { optional: true })` for one the config may leave out.
   */
  <const C extends Capability>(
    requires: readonly C[],
    options: SlotOptions & { optional: true },
  ): SlotSpec<C> & { optional: true };
  /** A slot bound to one backend: `slot(['keyvalue_basic'], { description })`. */
  <const C extends Capability>(requires: readonly C[], options?: SlotOptions): SlotSpec<C>;
  /**
   * A list slot: the config names a YAML list of backends (`shards: [redis-a, redis-b]`), each
   * matched against `requires`; the workflow gets one binding per element, in config order.
   * Throws a RangeError for bounds outside 0 ≤ min ≤ max ≤ {@link LIST_SLOT_LIMIT} (max ≥ 1).
   */
  list<const C extends Capability>(requires: readonly C[], options?: ListSlotOptions): ListSlotSpec<C>;
}

function single<const C extends Capability>(requires: readonly C[], options: SlotOptions = {}): SlotSpec<C> {
  return { requires, ...options };
}

function list<const C extends Capability>(requires: readonly C[], options: ListSlotOptions = {}): ListSlotSpec<C> {
  const min = options.min ?? 1;
  const max = options.max ?? Math.max(DEFAULT_LIST_MAX, min);
  if (!Number.isInteger(min) || min < 0) throw new RangeError(`slot.list: min must be an integer ≥ 0 (got ${min})`);
  if (!Number.isInteger(max) || max < Math.max(min, 1) || max > LIST_SLOT_LIMIT) {
    throw new RangeError(
      `slot.list: max must be an integer from ${Math.max(min, 1)} (min) to ${LIST_SLOT_LIMIT} (got ${max})`,
    );
  }
  return { requires, list: true, min, max, ...(options.description ? { description: options.description } : {}) };
}

/**
 * Declares a pattern's slots: `slot(['keyvalue_basic'])` for one backend,
 * `slot.list(['keyvalue_basic'], { min: 1, max: 8 })` for a list of them.
 */
export const slot: SlotDeclarer = Object.assign(single as SlotDeclarer, { list });

/** Where a slot's calls go at run time: resolved by the worker from config, recorded in history. */
export interface SlotBinding {
  pattern: string;
  slot: string;
  /** For an element of a list slot: its position in the config's list. */
  index?: number;
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

/** The single slots' bindings by slot name (what `bindSlots(pattern)` returns). */
export type SlotBindings = Record<string, SlotBinding>;

/** Every slot's bindings as the worker resolves them: a list slot's is an array. */
export type ResolvedSlots = Record<string, SlotBinding | SlotBinding[]>;

/** What a workflow sees for a slot: one binding, maybe none for an optional slot, an array for a list slot. */
export type BoundSlot<S extends SlotSpec | ListSlotSpec> = S extends { list: true }
  ? readonly SlotBinding[]
  : S extends { optional: true }
    ? SlotBinding | undefined
    : SlotBinding;

/** A pattern's slots, bound: what `bindSlots(pattern, slots)` returns. */
export type BoundSlots<S extends SlotSpecs> = { [K in keyof S]: BoundSlot<S[K]> };

/** Activity type names: capability operations are `<capability>.<operation>`, pattern ones `<pattern>.<slot>.<name>`. */
export function capabilityActivityName(capability: Capability, operation: string): string {
  return `${capability}.${operation}`;
}

/** The same name for every element of a list slot: each element's backend has its own task queue. */
export function patternActivityName(pattern: string, slotName: string, activity: string): string {
  return `${pattern}.${slotName}.${activity}`;
}

export function backendTaskQueue(baseQueue: string, backend: string): string {
  return `${baseQueue}.backend.${backend}`;
}

/** How config fields name a slot, or one element of a list slot: `shards[1]`. */
export function slotField(slotName: string, index?: number): string {
  return index === undefined ? slotName : `${slotName}[${index}]`;
}

/** The local activity that resolves a pattern's slot bindings at the start of a workflow. */
export const RESOLVE_SLOTS_ACTIVITY = 'prism.resolveSlots';
