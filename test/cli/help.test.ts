// --help on every command and subcommand (walked from the command tree, so a new command cannot
// skip it): usage line, every option, every default, an example; `prism --help` lists every
// command; --version prints package.json's version; the real binary does the same.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DIST_ROOT, runProcess } from '../helpers/worker-process';
import { CLI, commandTree, label, prismInProcess } from './support';

const VERSION = (JSON.parse(readFileSync(join(DIST_ROOT, '../package.json'), 'utf8')) as { version: string }).version;

describe('prism --help on every command', () => {
  const tree = commandTree();

  it('the tree holds every pattern command', () => {
    const top = tree.filter((n) => n.path.length === 1).map((n) => n.path[0]);
    for (const name of [
      'start',
      'describe',
      'worker',
      'codec-server',
      'config',
      'multicast',
      'saga',
      'session',
      'cdc',
    ]) {
      assert.ok(top.includes(name), `${name} is a command`);
    }
  });

  for (const { path, command } of tree) {
    it(`${label(path)} --help: usage, options with their defaults, an example; exit 0`, async () => {
      const { code, stdout, stderr } = await prismInProcess([...path, '--help']);
      assert.equal(code, 0, stderr);
      assert.equal(stderr, '');
      assert.match(stdout, new RegExp(`^Usage: ${label(path)} `, 'm'));
      assert.match(stdout, /^Examples?:\n {2}\$ \S/m);
      const flat = stdout.replace(/\s+/g, ' '); // help wraps long descriptions
      for (const option of command.options) {
        assert.ok(flat.includes(option.flags), `${option.flags} in the help`);
        if (option.defaultValue !== undefined && option.defaultValue !== false) {
          const shown = `default: ${JSON.stringify(option.defaultValue)}`;
          assert.ok(flat.includes(shown), `${option.flags}'s default shown`);
        }
      }
      for (const sub of command.commands) assert.match(stdout, new RegExp(`^ {2}${sub.name()}\\b`, 'm'));
    });
  }

  it('prism help <command> shows the same help as <command> --help', async () => {
    const viaHelp = await prismInProcess(['help', 'multicast']);
    const viaFlag = await prismInProcess(['multicast', '--help']);
    assert.equal(viaHelp.code, 0, viaHelp.stderr);
    assert.equal(viaHelp.stdout, viaFlag.stdout);
  });

  it('prism --version prints the package version', async () => {
    const { code, stdout } = await prismInProcess(['--version']);
    assert.equal(code, 0);
    assert.equal(stdout.trim(), VERSION);
  });

  it('the binary: --version, and --help listing every command', async () => {
    const version = await runProcess([CLI, '--version']);
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout.trim(), VERSION);
    const help = await runProcess([CLI, '--help']);
    assert.equal(help.code, 0, help.stderr);
    for (const { path } of tree.filter((n) => n.path.length === 1)) {
      assert.match(help.stdout, new RegExp(`^ {2}${path[0]}\\b`, 'm'), `${path[0]} listed`);
    }
  });
});
