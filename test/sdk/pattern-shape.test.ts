// Every built-in pattern has the same files under the same names (README, "Where a pattern's code
// lives"), so that knowing one pattern means knowing where everything of another is:
//   src/workflows/<p>/{workflow,logic,slots,input}.ts (+ settings.ts when it has settings)
//   src/activities/<p>/<slot>-activities.ts for each slot with activities of the pattern's own,
//     exporting the factory <slot>Activities and its type <Slot>Activities
//   src/patterns/<p>.ts, src/client/<p>.ts, src/cli/commands/<p>.ts
// and workflow.ts exports exactly the workflows the pattern registers. No server: files and exports.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { builtinPatterns } from '../../src/patterns/builtin';
import type { PatternDefinition } from '../../src/sdk/pattern';

const SRC = resolve(__dirname, '../../../src');
/** The compiled modules next to this test's own build (dist/src). */
const BUILT = resolve(__dirname, '../../src');

/** kv-probe, the walking skeleton, decides nothing and is started with `prism start`. */
const SKELETON = 'kv-probe';

const registry = builtinPatterns();
const patterns = registry.names().map((name) => registry.get(name)!);

async function workflowFunctions(modulePath: string): Promise<Map<string, unknown>> {
  const exported = (await import(modulePath)) as Record<string, unknown>;
  return new Map(Object.entries(exported).filter(([, value]) => typeof value === 'function'));
}

function missing(paths: string[]): string[] {
  return paths.filter((p) => !existsSync(join(SRC, p)));
}

describe('pattern shape', () => {
  it('finds the built-in patterns', () => {
    assert.deepEqual(registry.names(), ['cdc', 'kv-probe', 'multicast-registry', 'saga', 'session-store']);
  });

  for (const pattern of patterns as PatternDefinition[]) {
    const p = pattern.name;
    describe(p, () => {
      it('has the core workflow files (settings.ts exactly when it has settings)', () => {
        const core = ['workflow', 'slots', 'input', ...(p === SKELETON ? [] : ['logic'])];
        assert.deepEqual(missing(core.map((f) => `workflows/${p}/${f}.ts`)), []);
        assert.equal(
          existsSync(join(SRC, `workflows/${p}/settings.ts`)),
          pattern.settingsSchema !== undefined,
          `src/workflows/${p}/settings.ts should exist exactly when the pattern has a settingsSchema`,
        );
      });

      it('has one <slot>-activities.ts per slot with activities, and no other', () => {
        const slots = Object.keys(pattern.slotActivities ?? {}).sort();
        const folder = join(SRC, `activities/${p}`);
        const files = existsSync(folder) ? readdirSync(folder).filter((f) => f.endsWith('-activities.ts')) : [];
        assert.deepEqual(files.sort(), slots.map((slot) => `${slot}-activities.ts`).sort());
      });

      it('names the activity factory of each slot, and its type, after the slot', async () => {
        for (const slot of Object.keys(pattern.slotActivities ?? {})) {
          const factory = `${slot}Activities`;
          const type = `${slot[0]!.toUpperCase()}${slot.slice(1)}Activities`;
          const module = (await import(join(BUILT, `activities/${p}/${slot}-activities.js`))) as Record<
            string,
            unknown
          >;
          assert.equal(
            typeof module[factory],
            'function',
            `activities/${p}/${slot}-activities.ts should export ${factory}`,
          );
          const source = readFileSync(join(SRC, `activities/${p}/${slot}-activities.ts`), 'utf8');
          assert.match(
            source,
            new RegExp(`export type ${type} = ReturnType<typeof ${factory}>`),
            `activities/${p}/${slot}-activities.ts should export the type ${type}`,
          );
        }
      });

      it('has its definition, client and CLI command under its own name', () => {
        const entries = [`patterns/${p}.ts`, ...(p === SKELETON ? [] : [`client/${p}.ts`, `cli/commands/${p}.ts`])];
        assert.deepEqual(missing(entries), []);
      });

      it('exports exactly its registered workflows from workflow.ts, other *-workflow.ts files through it', async () => {
        const entry = await workflowFunctions(join(BUILT, `workflows/${p}/workflow.js`));
        assert.deepEqual([...entry.keys()].sort(), [...pattern.workflows].sort());
        const others = readdirSync(join(SRC, `workflows/${p}`)).filter((f) => f.endsWith('-workflow.ts'));
        for (const file of others) {
          const module = join(BUILT, `workflows/${p}`, file.replace(/\.ts$/, '.js'));
          for (const [name, fn] of await workflowFunctions(module)) {
            assert.equal(entry.get(name), fn, `${file} exports ${name}, which workflow.ts must re-export`);
          }
        }
      });
    });
  }

  it('bundles exactly the built-in patterns’ workflows', async () => {
    const bundled = [...(await workflowFunctions(join(BUILT, 'workflows/index.js'))).keys()].sort();
    assert.deepEqual(bundled, patterns.flatMap((p) => p.workflows).sort());
  });
});
