// prism completion bash|zsh: the bash script, sourced into a real bash, completes commands,
// subcommands, options and option values at every level of the command tree.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { commandTree, label, prismInProcess } from './support';

describe('prism completion', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prism-completion-'));
  const script = join(dir, 'prism.bash');

  before(async () => {
    const { code, stdout, stderr } = await prismInProcess(['completion', 'bash']);
    assert.equal(code, 0, stderr);
    writeFileSync(script, stdout);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  /** What bash offers after typing `words` (the last one being completed). */
  function complete(...words: string[]): string[] {
    const line = ['prism', ...words].map((w) => `'${w}'`).join(' ');
    const r = spawnSync(
      'bash',
      [
        '-c',
        `source '${script}'; COMP_WORDS=(${line}); COMP_CWORD=${words.length}; _prism_completion; printf '%s\\n' "\${COMPREPLY[@]}"`,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean).sort();
  }

  it('completes a command, a subcommand, an option and its values', () => {
    assert.deepEqual(complete('multi'), ['multicast']);
    assert.deepEqual(complete('multicast', 's'), ['send', 'status']);
    assert.deepEqual(complete('multicast', 'send', '--ch'), ['--channel']);
    assert.deepEqual(complete('multicast', 'send', '--channel', ''), ['both', 'pubsub', 'queue']);
    assert.deepEqual(complete('cdc', 'status', 'demo', '-o', ''), ['json', 'table']);
    assert.deepEqual(complete('completion', ''), ['--help', 'bash', 'zsh']);
  });

  for (const { path, command } of commandTree()) {
    it(`${label(path)} <TAB>: every subcommand and option of the command`, () => {
      const offered = complete(...path, '');
      for (const sub of command.commands) assert.ok(offered.includes(sub.name()), `${sub.name()} offered`);
      for (const option of command.options) assert.ok(offered.includes(option.long!), `${option.long} offered`);
    });
  }

  it('zsh: a compdef script with a case for every command', async () => {
    const { code, stdout } = await prismInProcess(['completion', 'zsh']);
    assert.equal(code, 0);
    assert.match(stdout, /^#compdef prism$/m);
    assert.match(stdout, /^compdef _prism_completion prism$/m);
    for (const { path } of commandTree()) assert.ok(stdout.includes(`"${label(path)}")`), `${label(path)} has a case`);
  });
});
