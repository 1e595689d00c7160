// prism completion bash|zsh: each script, loaded into a real bash or zsh, completes commands,
// subcommands, options and option values at every level of the command tree.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { commandTree, label, prismInProcess } from './support';

function hasZsh(): boolean {
  return spawnSync('zsh', ['-f', '-c', 'true']).status === 0;
}

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

  describe('zsh', { skip: hasZsh() ? false : 'zsh is not installed (scripts/test installs it)' }, () => {
    const zshScript = join(dir, 'prism.zsh');

    before(async () => {
      const { code, stdout, stderr } = await prismInProcess(['completion', 'zsh']);
      assert.equal(code, 0, stderr);
      writeFileSync(zshScript, stdout);
    });

    /**
     * What zsh offers after typing `words`: the script is loaded as a user's ~/.zshrc would (after
     * compinit), then its function runs with zsh's own `words`/`CURRENT`; `compadd` is replaced by a
     * function printing what it was given, filtered by the typed prefix as zsh's matcher would.
     */
    function completeZsh(...words: string[]): string[] {
      const line = ['prism', ...words].map((w) => `'${w}'`).join(' ');
      const r = spawnSync(
        'zsh',
        [
          '-f',
          '-c',
          `autoload -U compinit && compinit -u -D && source '${zshScript}' || exit 3
           [[ "\${_comps[prism]}" == _prism_completion ]] || { print -u2 "compdef did not register"; exit 4; }
           compadd() { [[ "$1" == -- ]] && shift; print -rl -- "$@"; }
           words=(${line}); CURRENT=${words.length + 1}; _prism_completion`,
        ],
        { encoding: 'utf8' },
      );
      assert.equal(r.status, 0, r.stderr);
      const typed = words[words.length - 1];
      return r.stdout
        .split('\n')
        .filter((w) => w && w.startsWith(typed))
        .sort();
    }

    it('registers with compdef and completes a command, a subcommand, an option and its values', () => {
      assert.deepEqual(completeZsh('multi'), ['multicast']);
      assert.deepEqual(completeZsh('multicast', 's'), ['send', 'status']);
      assert.deepEqual(completeZsh('multicast', 'send', '--ch'), ['--channel']);
      assert.deepEqual(completeZsh('multicast', 'send', '--channel', ''), ['both', 'pubsub', 'queue']);
      assert.deepEqual(completeZsh('cdc', 'status', 'demo', '-o', ''), ['json', 'table']);
      assert.deepEqual(completeZsh('completion', ''), ['--help', 'bash', 'zsh']);
    });

    for (const { path, command } of commandTree()) {
      it(`${label(path)} <TAB>: every subcommand and option of the command`, () => {
        const offered = completeZsh(...path, '');
        for (const sub of command.commands) assert.ok(offered.includes(sub.name()), `${sub.name()} offered`);
        for (const option of command.options) assert.ok(offered.includes(option.long!), `${option.long} offered`);
      });
    }
  });
});
