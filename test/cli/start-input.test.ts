// `prism start` checks a built-in workflow's input before it starts anything: a bad field is a
// usage error (exit 2) naming the field under --input, and Temporal is never called (the address
// given is closed, so reaching for it would fail differently).
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { builtinPatterns } from '../../src/patterns/builtin';
import { definePattern, PatternRegistry } from '../../src/sdk/pattern';
import { prismInProcess } from './support';

async function closedAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return `127.0.0.1:${port}`;
}

describe('prism start checks the input first', () => {
  const cases: [string, string, RegExp][] = [
    ['kvProbeWorkflow', '{"key":"","value":"v"}', /--input\.key: /],
    ['kvProbeWorkflow', '{"key":"k","value":"v","extra":1}', /--input: Unrecognized key.*extra/],
    ['multicastWorkflow', '{"registry":"r","filter":{},"payload":"p","batchSize":0}', /--input\.batchSize: /],
    ['cdcPipelineWorkflow', '{"pipeline":"Bad Name","tables":["t"]}', /--input\.pipeline: /],
    ['orderSagaWorkflow', '{"orderId":"o-1"}', /--input\.\w+: /],
    [
      'declarativeSagaWorkflow',
      '{"definition":{"name":"s","steps":[{"name":"a","slot":"no-such-slot","op":"x"}]}}',
      /--input\.definition\.steps\[0\]\.slot/,
    ],
    ['declarativeSagaWorkflow', '7', /--input: expected an object/],
  ];
  for (const [workflow, input, expected] of cases) {
    it(`${workflow} ${input}: exit 2, the field named, nothing started`, async () => {
      const address = await closedAddress();
      const r = await prismInProcess(['start', workflow, '--input', input, '--address', address]);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, new RegExp(`invalid input for ${workflow}`));
      assert.match(r.stderr, expected);
      assert.doesNotMatch(r.stderr, /cannot reach Temporal/);
      assert.equal(r.stdout, '');
    });
  }

  it('a valid input goes on to Temporal (here: the closed address, named)', async () => {
    const address = await closedAddress();
    const r = await prismInProcess([
      'start',
      'kvProbeWorkflow',
      '--input',
      '{"key":"k","value":"v"}',
      '--address',
      address,
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /cannot reach Temporal at/);
  });

  it('every workflow of every built-in pattern has an input check that refuses a non-object', () => {
    const registry = builtinPatterns();
    for (const name of registry.names()) {
      const pattern = registry.get(name)!;
      for (const workflow of pattern.workflows) {
        const check = pattern.inputs?.[workflow];
        assert.ok(check, `${name}: ${workflow} has no input check`);
        const problems = check(42, '--input');
        assert.ok(problems.length > 0 && problems.every((p) => p.startsWith('--input')), `${workflow}: ${problems}`);
      }
    }
  });

  it('a pattern whose inputs name a workflow it does not run is refused at registration', () => {
    const pattern = definePattern({
      name: 'typo',
      slots: {},
      workflows: ['aWorkflow'],
      inputs: { aWorkfow: () => [] },
    });
    assert.throws(() => new PatternRegistry().register(pattern), /inputs names workflows it does not run: aWorkfow/);
  });
});
