// Every example folder explains itself, and the files its README names exist: a README that
// points at a renamed file would send a newcomer nowhere.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve(__dirname, '../../..');
const EXAMPLES = join(ROOT, 'examples');

const exampleDirs = readdirSync(EXAMPLES).filter((name) => statSync(join(EXAMPLES, name)).isDirectory());

/** Relative markdown links, and repository paths written in the README's text or commands. */
function namedPaths(readme: string, dir: string): string[] {
  const links = [...readme.matchAll(/\]\(([^)#\s]+)\)/g)]
    .map((m) => m[1])
    .filter((href) => !/^[a-z]+:/.test(href))
    .map((href) => resolve(dir, href));
  const repoPaths = [...readme.matchAll(/(?:^|[\s`@'"(])((?:examples|config|docs|src|test)\/[\w./-]*\w)/g)]
    .map((m) => m[1].replace(/^dist\//, ''))
    .map((p) => join(ROOT, p));
  return [...links, ...repoPaths];
}

for (const name of exampleDirs) {
  test(`examples/${name} has a README whose named files exist`, () => {
    const readmePath = join(EXAMPLES, name, 'README.md');
    assert.ok(existsSync(readmePath), `examples/${name}/README.md is missing`);
    const readme = readFileSync(readmePath, 'utf8');
    const missing = namedPaths(readme, join(EXAMPLES, name)).filter((p) => !existsSync(p));
    assert.deepEqual(missing, [], `examples/${name}/README.md names files that do not exist`);
  });
}
