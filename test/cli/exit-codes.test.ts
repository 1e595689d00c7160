// Exit codes everywhere: 2 for usage errors (unknown option or command, missing argument, bad
// value) on every command of the tree, with the command's usage line; 1 for failures, saying what
// happened (a config that cannot be read, an unreachable Temporal named by its address); 0 for
// success. Never a stack trace.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { runProcess } from '../helpers/worker-process';
import { CLI, commandTree, label, prismInProcess } from './support';

const STACK_TRACE = /\n\s+at .*\.js:\d+/;

/** A port nothing listens on: bound once by this process, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('usage errors exit 2 on every command', () => {
  for (const { path, command } of commandTree()) {
    it(`${label(path)} --no-such-option: exit 2, the problem and the usage line named`, async () => {
      const { code, stdout, stderr } = await prismInProcess([...path, '--no-such-option']);
      assert.equal(code, 2, stdout + stderr);
      // A missing required option is reported first where there is one.
      assert.match(stderr, /unknown option '--no-such-option'|required option '[^']+' not specified/);
      assert.match(stderr, new RegExp(`usage: ${label(path)} `));
      assert.equal(stdout, '');
    });
    if (command.commands.length > 0) {
      it(`${label(path)} no-such-command: exit 2`, async () => {
        const { code, stderr } = await prismInProcess([...path, 'no-such-command']);
        assert.equal(code, 2, stderr);
        assert.match(stderr, /unknown command 'no-such-command'/);
      });
    }
  }

  const cases: [string[], RegExp][] = [
    [['describe'], /missing required argument 'workflow-id'/],
    [['multicast', 'register'], /missing required argument 'identity'/],
    [['multicast', 'send', '--payload', 'x'], /required option '--filter <json\|@file>' not specified/],
    [['saga', 'list', '--status', 'finished'], /argument 'finished' is invalid\. Allowed choices are running/],
    [['multicast', 'enumerate', '--limit', '-3'], /--limit <n>' argument '-3' is invalid\. expected a whole number/],
    [
      ['session', 'extend', 's', 'soon', '--region', 'eu'],
      /value 'soon' is invalid for argument 'seconds'\. expected a whole number/,
    ],
    [['cdc', 'start', '--input', '{"pipeline":"Bad Name","tables":[]}'], /--input\.pipeline/],
    [['start', 'kvProbeWorkflow', '--input', '{bad'], /--input: not valid JSON/],
  ];
  for (const [argv, expect] of cases) {
    it(`${label(argv)}: exit 2`, async () => {
      const { code, stderr } = await prismInProcess(argv);
      assert.equal(code, 2, stderr);
      assert.match(stderr, expect);
      assert.doesNotMatch(stderr, STACK_TRACE);
    });
  }

  it('the binary itself exits 2 on a usage error', async () => {
    const r = await runProcess([CLI, 'multicast', 'send', '--filter', '{}']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /required option '--payload <text>' not specified/);
  });
});

describe('failures exit 1 and say what happened; success exits 0', () => {
  it('an unreachable Temporal is named by its address (--address wins over the environment)', async () => {
    const address = `127.0.0.1:${await closedPort()}`;
    const r = await runProcess([CLI, 'describe', 'any-id', '--address', address]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^prism: cannot reach Temporal at ${address.replace(/\./g, '\\.')}: `));
    assert.doesNotMatch(r.stderr, STACK_TRACE);
  });

  it('a config file that cannot be read: exit 1, the file named', async () => {
    const r = await prismInProcess(['config', 'dump', '--config', '/nonexistent/prism.yaml']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\/nonexistent\/prism\.yaml:[\s\S]*cannot read the file: ENOENT/);
  });

  it('a workflow id that does not exist: exit 1', async () => {
    const r = await runProcess([CLI, 'describe', 'no-such-workflow-id-for-prism-tests']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /workflow not found/i);
  });

  it('--help, --version and completion exit 0', async () => {
    for (const argv of [['--help'], ['--version'], ['completion', 'bash'], ['saga', 'start', '--help']]) {
      assert.equal((await prismInProcess(argv)).code, 0, argv.join(' '));
    }
  });

  it('prism with no command shows the help on stderr and exits 2', async () => {
    const r = await prismInProcess([]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^Usage: prism /m);
    assert.equal(r.stdout, '');
  });
});
