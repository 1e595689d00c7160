// Registry semantics on real backends (the same file runs on each stack): register, conflicts,
// replace, heartbeat, expiry, idempotent unregister, and enumeration paging over 2,000 identities
// with no duplicates and no gaps — directly against the backend and through operation workflows.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MulticastRegistryClient, RegistryError } from '../../../src/client/multicast-registry';
import { uniqueName } from '../../helpers/env';
import { stacks } from './stacks';
import { StackWorker } from './support';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function rejectsWith(promise: Promise<unknown>, type: string): Promise<RegistryError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof RegistryError, `expected a RegistryError, got ${String(err)}`);
    assert.equal(err.type, type, err.message);
    return err;
  }
  assert.fail(`expected ${type}`);
}

for (const stack of stacks()) {
  describe(`multicast registry on ${stack.name}: registry`, () => {
    const setup = new StackWorker(stack, 'mcr-registry');
    before(() => setup.start());
    after(() => setup.stop());

    for (const path of ['direct', 'workflow'] as const) {
      it(`register, conflict, replace, heartbeat, unregister (${path})`, async () => {
        const registry = new MulticastRegistryClient(setup.prism, uniqueName('reg'), {
          direct: path === 'direct' ? setup.driver : undefined,
        });
        const reg = await registry.register('svc-1', { region: 'eu', tier: 1 }, { ttlSeconds: 30 });
        assert.equal(reg.identity, 'svc-1');
        assert.ok(reg.expiresAt && Date.parse(reg.expiresAt) > Date.parse(reg.registeredAt));

        const conflict = await rejectsWith(registry.register('svc-1', { region: 'us' }), 'IdentityConflict');
        assert.match(conflict.message, /svc-1.*already registered.*replace/);

        const replaced = await registry.register('svc-1', { region: 'us' }, { replace: true });
        assert.equal(replaced.expiresAt, null, 'no ttl: no lease');
        const page = await registry.enumerate({});
        assert.deepEqual(
          page.identities.map((r) => [r.identity, r.metadata.region]),
          [['svc-1', 'us']],
        );

        await registry.register('svc-2', {}, { ttlSeconds: 20 });
        const before = await registry.enumerate({});
        const lease = before.identities.find((r) => r.identity === 'svc-2')!.expiresAt!;
        await sleep(50);
        const renewed = await registry.heartbeat('svc-2', { ttlSeconds: 60 });
        assert.ok(Date.parse(renewed.expiresAt!) > Date.parse(lease), 'lease renewed');

        assert.deepEqual(await registry.unregister('svc-2'), { removed: true });
        assert.deepEqual(await registry.unregister('svc-2'), { removed: false }, 'idempotent');
        await rejectsWith(registry.heartbeat('svc-2'), 'IdentityNotFound');
        await rejectsWith(registry.register('bad identity!'), 'InvalidInput');
        const badFilter = await rejectsWith(registry.enumerate({ $or: [{ a: { $in: 1 } }] }), 'InvalidInput');
        assert.match(badFilter.message, /filter\.\$or\[0\]\.a\.\$in: expected an array/);
      });
    }

    it('expired identities never appear; heartbeat keeps one alive; re-register after expiry', async () => {
      const registry = new MulticastRegistryClient(setup.prism, uniqueName('reg'), { direct: setup.driver });
      await registry.register('short', { k: 1 }, { ttlSeconds: 1 });
      await registry.register('kept', { k: 1 }, { ttlSeconds: 1 });
      await registry.register('forever', { k: 1 });
      for (let i = 0; i < 4; i++) {
        await sleep(400);
        // Long enough to outlive the slow steps below on a loaded machine; 'short' (1 s) lapses.
        await registry.heartbeat('kept', { ttlSeconds: 30 });
      }
      const live = (await registry.enumerate({ k: 1 })).identities.map((r) => r.identity).sort();
      assert.deepEqual(live, ['forever', 'kept']);
      await rejectsWith(registry.heartbeat('short'), 'IdentityNotFound');
      // An expired registration is no conflict.
      await registry.register('short', { k: 2 }, { ttlSeconds: 5 });
      // Through a workflow, the activity sees the same thing.
      const viaWorkflow = new MulticastRegistryClient(setup.prism, registry.registry);
      assert.deepEqual((await viaWorkflow.enumerate({ k: { $gte: 1 } })).identities.map((r) => r.identity).sort(), [
        'forever',
        'kept',
        'short',
      ]);
    });

    it('enumerate pages over 2,000 identities: no duplicates, no gaps, filter applied', async () => {
      const registry = new MulticastRegistryClient(setup.prism, uniqueName('reg'), { direct: setup.driver });
      const all = Array.from({ length: 2000 }, (_, i) => `node-${String(i).padStart(4, '0')}`);
      for (let i = 0; i < all.length; i += 100) {
        await Promise.all(
          all
            .slice(i, i + 100)
            .map((id, j) =>
              registry.register(
                id,
                { shard: (i + j) % 4, zone: (i + j) % 2 === 0 ? 'even' : 'odd' },
                { ttlSeconds: 300 },
              ),
            ),
        );
      }
      const filter = { $or: [{ shard: 0 }, { shard: { $gte: 3 } }] };
      const expected = all.filter((_, i) => i % 4 === 0 || i % 4 === 3);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: Awaited<ReturnType<typeof registry.enumerate>> = await registry.enumerate(filter, {
          limit: 97,
          cursor,
        });
        assert.ok(page.identities.length <= 97);
        seen.push(...page.identities.map((r) => r.identity));
        cursor = page.cursor;
        pages += 1;
      } while (cursor !== null);
      assert.equal(new Set(seen).size, seen.length, 'no duplicates');
      assert.deepEqual([...seen].sort(), expected, 'no gaps, nothing extra');
      process.stdout.write(`# ${stack.name}: ${expected.length} of 2000 identities in ${pages} pages\n`);

      // The same through an operation workflow, one large page.
      const viaWorkflow = new MulticastRegistryClient(setup.prism, registry.registry);
      const first = await viaWorkflow.enumerate({ zone: 'odd', shard: 1 }, { limit: 1000 });
      assert.equal(first.identities.length, 500);
      assert.ok(first.identities.every((r) => r.metadata.shard === 1));
    });
  });
}
