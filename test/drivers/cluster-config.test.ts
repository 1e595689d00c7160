// Cluster settings of the driver configs (no server needed): Redis Cluster seed lists and what
// they exclude, the hash tags that place the Redis driver's own keys, NATS replicas, Kafka
// min.insync.replicas.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kafkaConfigSchema } from '../../src/drivers/kafka/config';
import { natsConfigSchema } from '../../src/drivers/nats/config';
import { redisConfigSchema } from '../../src/drivers/redis/config';
import { hashTagFor, SLOT_COUNT, slotOf } from '../../src/drivers/redis/slots';

/** The paths and messages of a refused config. */
function issues(result: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }) {
  assert.equal(result.success, false, 'the config is refused');
  return (result.error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('redis config: nodes', () => {
  it('accepts a seed list, IPv6 included, and leaves url unset', () => {
    const config = redisConfigSchema.parse({ nodes: ['127.0.0.1:17100', 'redis-b.internal:6379', '[::1]:7000'] });
    assert.deepEqual(config.nodes, ['127.0.0.1:17100', 'redis-b.internal:6379', '[::1]:7000']);
    assert.equal(config.url, undefined);
  });

  it('names the field that conflicts with a cluster or is malformed', () => {
    assert.deepEqual(issues(redisConfigSchema.safeParse({ nodes: ['a:1'], url: 'redis://a:1' })), [
      'url: give either url (one server) or nodes (a Redis Cluster), not both',
    ]);
    assert.deepEqual(issues(redisConfigSchema.safeParse({ nodes: ['a:1'], db: 2 })), [
      'db: a Redis Cluster has only database 0: remove db when nodes is set',
    ]);
    assert.deepEqual(issues(redisConfigSchema.safeParse({ nodes: ['a:1'], keyPrefix: 'app{1}:' })), [
      'keyPrefix: must not contain { or } when nodes is set: the driver places its own hash tags',
    ]);
    assert.deepEqual(issues(redisConfigSchema.safeParse({ nodes: ['a:1', 'redis://b:2'] })), [
      'nodes.1: must be host:port',
    ]);
    assert.match(issues(redisConfigSchema.safeParse({ nodes: [] }))[0], /^nodes: /);
  });

  it('keeps braces in keyPrefix and db allowed on a single server', () => {
    assert.equal(redisConfigSchema.parse({ keyPrefix: 'app{1}:', db: 2 }).db, 2);
  });
});

describe('redis hash tags', () => {
  it('has a tag for every slot that hashes to it, whatever follows the tag', () => {
    for (let slot = 0; slot < SLOT_COUNT; slot += 1) {
      assert.equal(slotOf(`\u00ffx${hashTagFor(slot)}v\u00ff}{odd key`), slot);
    }
  });
});

describe('nats and kafka cluster settings', () => {
  it('nats replicas default to 1 and are bounded', () => {
    assert.equal(natsConfigSchema.parse({}).replicas, 1);
    assert.equal(natsConfigSchema.parse({ servers: ['nats://a:1', 'nats://b:1'], replicas: 3 }).replicas, 3);
    assert.equal(natsConfigSchema.safeParse({ replicas: 0 }).success, false);
    assert.equal(natsConfigSchema.safeParse({ replicas: 6 }).success, false);
  });

  it('kafka takes a broker list and min.insync.replicas for the topics it creates', () => {
    const config = kafkaConfigSchema.parse({
      brokers: 'a:1, b:2,c:3',
      topics: { replicationFactor: 3, minInsyncReplicas: 2 },
    });
    assert.deepEqual(config.brokers, ['a:1', 'b:2', 'c:3']);
    assert.equal(config.topics.minInsyncReplicas, 2);
    assert.equal(kafkaConfigSchema.safeParse({ topics: { minInsyncReplicas: 0 } }).success, false);
  });
});
