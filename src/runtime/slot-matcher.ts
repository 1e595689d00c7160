// Matches a config's patterns to pattern definitions and its slots to backends, before anything
// connects. Every mismatch is collected and reported together, each naming the field; a list
// slot's elements are matched one by one and named by index (`slots.shards[1]`).
import type { Capability } from '../drivers/capabilities';
import type { DriverFactory, DriverRegistry } from '../drivers/registry';
import type { SlotMatch } from '../sdk/slot-match';
import { zodProblems } from '../common/config-errors';
import type { PatternConfig, PrismConfig } from '../config/schema';
import type { PatternDefinition, PatternRegistry } from '../sdk/pattern';
import { isListSlot, slotField, type ListSlotSpec, type SlotSpec } from '../sdk/slot';

interface Found {
  matches: SlotMatch[];
  problems: string[];
}

export function matchSlots(config: PrismConfig, patterns: PatternRegistry, drivers: DriverRegistry): Found {
  const found: Found = { matches: [], problems: [] };
  const { problems } = found;

  for (const [backendName, backend] of Object.entries(config.backends)) {
    const factory = drivers.get(backend.driver);
    if (!factory) {
      problems.push(
        `backends.${backendName}.driver: unknown driver "${backend.driver}" (known: ${drivers.names().join(', ')})`,
      );
      continue;
    }
    const parsed = factory.configSchema.safeParse(backend.config);
    if (!parsed.success) problems.push(...zodProblems(parsed.error, ['backends', backendName, 'config']));
  }

  for (const [patternName, patternConfig] of Object.entries(config.patterns)) {
    const definition = patterns.get(patternName);
    if (!definition) {
      problems.push(`patterns.${patternName}: unknown pattern (known: ${patterns.names().join(', ')})`);
      continue;
    }
    let settings: unknown = patternConfig.settings;
    let settingsValid = true;
    if (definition.settingsSchema) {
      const parsed = definition.settingsSchema.safeParse(patternConfig.settings);
      if (parsed.success) settings = parsed.data;
      else problems.push(...zodProblems(parsed.error, ['patterns', patternName, 'settings']));
      settingsValid = parsed.success;
    }
    const before = problems.length;
    problems.push(...unknownSlots(patternName, patternConfig, definition));
    for (const [slotName, spec] of Object.entries(definition.slots)) {
      const field = `patterns.${patternName}.slots.${slotName}`;
      const value = patternConfig.slots[slotName];
      if (isListSlot(spec)) {
        matchList(config, drivers, found, { pattern: patternName, slot: slotName, field, spec, value });
        continue;
      }
      if (value === undefined) {
        if (!spec.optional)
          problems.push(`${field}: required slot is not bound to a backend (needs ${spec.requires.join(' + ')})`);
        continue;
      }
      if (Array.isArray(value)) {
        problems.push(`${field}: the slot takes one backend, not a list (write ${slotName}: <backend>)`);
        continue;
      }
      matchOne(config, drivers, found, { pattern: patternName, slot: slotName, field, spec, backend: value });
    }
    // Cross-field rules only make sense once settings and slots are each valid.
    if (definition.checkConfig && settingsValid && problems.length === before) {
      const own = definition.checkConfig({ settings, slots: patternConfig.slots });
      problems.push(...own.map((problem) => `patterns.${patternName}.${problem}`));
    }
  }
  return found;
}

const backends = (n: number): string => `${n} backend${n === 1 ? '' : 's'}`;

interface ListTarget {
  pattern: string;
  slot: string;
  field: string;
  spec: ListSlotSpec;
  value: string | string[] | undefined;
}

function matchList(config: PrismConfig, drivers: DriverRegistry, found: Found, t: ListTarget): void {
  const { field, spec, value } = t;
  const range = spec.min === spec.max ? `${spec.min}` : `${spec.min} to ${spec.max}`;
  const needs = `${range} backends, each with ${spec.requires.join(' + ')}`;
  if (value === undefined) {
    if (spec.min > 0) found.problems.push(`${field}: required list slot is not bound (needs ${needs})`);
    return;
  }
  if (!Array.isArray(value)) {
    found.problems.push(`${field}: a list slot takes a list of backends: write ${t.slot}: [${value}] (needs ${needs})`);
    return;
  }
  if (value.length < spec.min) {
    const what = value.length === 0 ? 'empty list' : backends(value.length);
    found.problems.push(`${field}: ${what}, the slot needs at least ${spec.min}`);
    return;
  }
  if (value.length > spec.max) {
    found.problems.push(`${field}: ${backends(value.length)}, the slot takes at most ${spec.max}`);
    return;
  }
  const first = new Map<string, number>();
  value.forEach((backend, index) => {
    const elementField = `${field}[${index}]`;
    const seen = first.get(backend);
    if (seen !== undefined) {
      found.problems.push(`${elementField}: backend "${backend}" is already listed at [${seen}]; each backend once`);
      return;
    }
    first.set(backend, index);
    matchOne(config, drivers, found, { ...t, field: elementField, index, backend });
  });
}

interface OneTarget {
  pattern: string;
  slot: string;
  index?: number;
  field: string;
  spec: SlotSpec | ListSlotSpec;
  backend: string;
}

/** A backend's capabilities as configured; the driver's whole list when its config does not parse (reported elsewhere). */
function offeredBy(factory: DriverFactory, config: unknown): readonly Capability[] {
  if (!factory.capabilitiesFor) return factory.capabilities;
  const parsed = factory.configSchema.safeParse(config);
  return parsed.success ? factory.capabilitiesFor(parsed.data) : factory.capabilities;
}

function matchOne(config: PrismConfig, drivers: DriverRegistry, found: Found, t: OneTarget): void {
  const backend = config.backends[t.backend];
  if (!backend) {
    found.problems.push(
      `${t.field}: unknown backend "${t.backend}" (backends: ${Object.keys(config.backends).join(', ')})`,
    );
    return;
  }
  const factory = drivers.get(backend.driver);
  if (!factory) return; // reported with the backends
  const offered = offeredBy(factory, backend.config);
  const missing = t.spec.requires.filter((c) => !offered.includes(c));
  if (missing.length > 0) {
    // The driver has it, but not as this backend is configured (e.g. changefeed on a Redis Cluster).
    const configured = missing.every((c) => factory.capabilities.includes(c)) ? ' as configured' : '';
    found.problems.push(
      `${t.field}: backend "${t.backend}" uses driver "${backend.driver}", which lacks ${missing.join(', ')}` +
        `${configured} (slot "${t.slot}" requires ${t.spec.requires.join(' + ')})`,
    );
    return;
  }
  found.matches.push({
    pattern: t.pattern,
    slot: t.slot,
    ...(t.index === undefined ? {} : { index: t.index }),
    backend: t.backend,
    driver: backend.driver,
    requires: t.spec.requires,
  });
}

/**
 * Slot names the pattern does not declare. Numbered names (`shard_0`, `shard_1`, …) next to a list
 * slot are most likely the pre-list way of binding several backends: one message gives the list
 * to write instead.
 */
function unknownSlots(patternName: string, patternConfig: PatternConfig, definition: PatternDefinition): string[] {
  const declared = Object.keys(definition.slots);
  const lists = declared.filter((n) => isListSlot(definition.slots[n]));
  const unknown = Object.keys(patternConfig.slots).filter((n) => !(n in definition.slots));
  const numbered = new Map<string, { name: string; n: number }[]>();
  const problems: string[] = [];
  for (const name of unknown) {
    const m = /^(.*?)[_-]?(\d+)$/.exec(name);
    if (m && m[1] !== '' && lists.length > 0) {
      numbered.set(m[1], [...(numbered.get(m[1]) ?? []), { name, n: Number(m[2]) }]);
      continue;
    }
    problems.push(
      `patterns.${patternName}.slots.${name}: the pattern has no such slot (slots: ${declared.join(', ')})`,
    );
  }
  for (const [base, group] of numbered) {
    group.sort((a, b) => a.n - b.n);
    const target = lists.find((l) => l.startsWith(base)) ?? (lists.length === 1 ? lists[0] : undefined);
    const backends = group.map((g) => patternConfig.slots[g.name]).flat();
    const names = group.map((g) => g.name).join(', ');
    const instead =
      target !== undefined
        ? `write ${target}: [${backends.join(', ')}]`
        : `list them in one of its list slots (${lists.join(', ')}), e.g. ${lists[0]}: [${backends.join(', ')}]`;
    problems.push(
      `patterns.${patternName}.slots.${group[0].name}: the pattern has no slot${group.length > 1 ? 's' : ''} ${names}; ` +
        `several backends go in one list slot: ${instead}`,
    );
  }
  return problems;
}

/** After drivers connect: an instance may offer less than its factory declares (server version). */
export function checkInstanceCapabilities(match: SlotMatch, offered: ReadonlySet<Capability>): string | null {
  const missing = match.requires.filter((c) => !offered.has(c));
  if (missing.length === 0) return null;
  return (
    `patterns.${match.pattern}.slots.${slotField(match.slot, match.index)}: backend "${match.backend}" ` +
    `(driver ${match.driver}) does not offer ${missing.join(', ')} on this server`
  );
}
