// Matches a config's patterns to pattern definitions and its slots to backends, before anything
// connects. Every mismatch is collected and reported together, each naming the field.
import type { Capability } from '../drivers/capabilities';
import type { DriverRegistry } from '../drivers/registry';
import { zodProblems } from '../config/errors';
import type { PrismConfig } from '../config/schema';
import type { PatternRegistry } from '../sdk/pattern';

export interface SlotMatch {
  pattern: string;
  slot: string;
  backend: string;
  driver: string;
  requires: readonly Capability[];
}

export function matchSlots(
  config: PrismConfig,
  patterns: PatternRegistry,
  drivers: DriverRegistry,
): {
  matches: SlotMatch[];
  problems: string[];
} {
  const problems: string[] = [];
  const matches: SlotMatch[] = [];

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
    if (definition.settingsSchema) {
      const parsed = definition.settingsSchema.safeParse(patternConfig.settings);
      if (!parsed.success) problems.push(...zodProblems(parsed.error, ['patterns', patternName, 'settings']));
    }
    for (const slotName of Object.keys(patternConfig.slots)) {
      if (!(slotName in definition.slots)) {
        problems.push(
          `patterns.${patternName}.slots.${slotName}: the pattern has no such slot (slots: ${Object.keys(definition.slots).join(', ')})`,
        );
      }
    }
    for (const [slotName, spec] of Object.entries(definition.slots)) {
      const backendName = patternConfig.slots[slotName];
      const field = `patterns.${patternName}.slots.${slotName}`;
      if (!backendName) {
        if (!spec.optional)
          problems.push(`${field}: required slot is not bound to a backend (needs ${spec.requires.join(' + ')})`);
        continue;
      }
      const backend = config.backends[backendName];
      if (!backend) {
        problems.push(
          `${field}: unknown backend "${backendName}" (backends: ${Object.keys(config.backends).join(', ')})`,
        );
        continue;
      }
      const factory = drivers.get(backend.driver);
      if (!factory) continue; // reported above
      const missing = spec.requires.filter((c) => !factory.capabilities.includes(c));
      if (missing.length > 0) {
        problems.push(
          `${field}: backend "${backendName}" uses driver "${backend.driver}", which lacks ${missing.join(', ')} ` +
            `(slot "${slotName}" requires ${spec.requires.join(' + ')})`,
        );
        continue;
      }
      matches.push({
        pattern: patternName,
        slot: slotName,
        backend: backendName,
        driver: backend.driver,
        requires: spec.requires,
      });
    }
  }
  return { matches, problems };
}

/** After drivers connect: an instance may offer less than its factory declares (server version). */
export function checkInstanceCapabilities(match: SlotMatch, offered: ReadonlySet<Capability>): string | null {
  const missing = match.requires.filter((c) => !offered.has(c));
  if (missing.length === 0) return null;
  return (
    `patterns.${match.pattern}.slots.${match.slot}: backend "${match.backend}" (driver ${match.driver}) ` +
    `does not offer ${missing.join(', ')} on this server`
  );
}
