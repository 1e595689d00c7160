// GroupSignal (the session store's group commit of replication signals): calls made while a send
// is in flight share one follow-up send carrying the largest timestamp, each call resolves only
// after a send covering it, a failed send fails every call waiting on it, and keys are independent.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GroupSignal } from '../../../src/client/group-signal';

/** A send whose completions the test controls: each call is recorded and waits to be released. */
function controlledSend() {
  const sends: { key: string; ts: number; done: (error?: Error) => void }[] = [];
  const send = (key: string, ts: number) =>
    new Promise<void>((resolve, reject) => {
      sends.push({ key, ts, done: (error) => (error ? reject(error) : resolve()) });
    });
  return { sends, send };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('GroupSignal', () => {
  it('sends once for the first call and once for all calls made while it is in flight', async () => {
    const { sends, send } = controlledSend();
    const group = new GroupSignal(send);
    const resolved: number[] = [];
    const calls = [1, 2, 3, 4].map((ts) => group.submit('s', ts).then(() => resolved.push(ts)));
    assert.deepEqual(
      sends.map((x) => x.ts),
      [1],
    );
    sends[0].done();
    await tick();
    assert.deepEqual(resolved, [1]); // 2..4 wait for the follow-up, which covers them
    assert.deepEqual(
      sends.map((x) => x.ts),
      [1, 4],
    );
    sends[1].done();
    await Promise.all(calls);
    assert.deepEqual(resolved, [1, 2, 3, 4]);
    assert.equal(group.inFlight, 0);
    // Nothing in flight: the next call sends at once.
    const fifth = group.submit('s', 5);
    assert.equal(sends.length, 3);
    sends[2].done();
    await fifth;
  });

  it('carries the largest timestamp of a batch, whatever the order of the calls', async () => {
    const { sends, send } = controlledSend();
    const group = new GroupSignal(send);
    const first = group.submit('s', 10);
    const batch = [30, 20].map((ts) => group.submit('s', ts));
    sends[0].done();
    await first;
    await tick();
    assert.equal(sends[1].ts, 30);
    sends[1].done();
    await Promise.all(batch);
  });

  it('fails every call waiting on a failed send, and the key recovers', async () => {
    const { sends, send } = controlledSend();
    const group = new GroupSignal(send);
    const first = group.submit('s', 1);
    const batch = [2, 3].map((ts) => group.submit('s', ts));
    sends[0].done();
    await first;
    await tick();
    sends[1].done(new Error('signal refused'));
    for (const call of batch) await assert.rejects(call, /signal refused/);
    assert.equal(group.inFlight, 0);
    const again = group.submit('s', 4);
    sends[2].done();
    await again;
  });

  it('a failed first send fails only its own call; the calls meanwhile get the follow-up', async () => {
    const { sends, send } = controlledSend();
    const group = new GroupSignal(send);
    const first = group.submit('s', 1);
    const later = group.submit('s', 2);
    sends[0].done(new Error('unavailable'));
    await assert.rejects(first, /unavailable/);
    await tick();
    sends[1].done();
    await later;
  });

  it('keeps keys apart, and turns a synchronous throw into a rejection', async () => {
    const { sends, send } = controlledSend();
    const group = new GroupSignal(send);
    const a = group.submit('a', 1);
    const b = group.submit('b', 1);
    assert.deepEqual(
      sends.map((x) => x.key),
      ['a', 'b'],
    );
    sends.forEach((x) => x.done());
    await Promise.all([a, b]);

    const throwing = new GroupSignal(() => {
      throw new Error('bad input');
    });
    await assert.rejects(throwing.submit('s', 1), /bad input/);
    assert.equal(throwing.inFlight, 0);
  });
});
