// A pubsub topic keeps its hierarchy on the wire: NATS users subscribe with the usual wildcards.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '../../src/drivers/nats/client';
import type { PubSubBasic } from '../../src/drivers/capabilities';
import type { Driver } from '../../src/drivers/driver';
import { natsDriver } from '../../src/drivers/nats';
import { subjectTopic, topicSubject } from '../../src/drivers/nats/names';
import { stackEnv, uniqueName } from '../helpers/env';

describe('NATS subject of a pubsub topic', () => {
  it('is the topic itself, under the prefix when one is set', () => {
    assert.equal(topicSubject(undefined, 'multicast.fleet.web-1'), 'multicast.fleet.web-1');
    assert.equal(topicSubject('app', 'multicast.fleet.web-1'), 'app.multicast.fleet.web-1');
    assert.equal(topicSubject(undefined, 'orders_eu'), 'orders_eu');
  });

  it('escapes only what a subject token cannot hold', () => {
    assert.equal(topicSubject(undefined, 'a b.c*.>'), 'a%20b.c%2A.%3E');
    assert.equal(topicSubject(undefined, '100%'), '100%25');
    assert.equal(topicSubject(undefined, '.a..b.'), '%.a.%.b.%');
    assert.equal(topicSubject(undefined, 'café.ü'), 'café.ü');
  });

  it('maps back to the topic, and distinct topics never share a subject', () => {
    const topics = ['a.b', 'a b', 'a%20b', 'a..b', 'a.%.b', '%', '', '*', '>', 'x.%2A', 'tab\tnew\nline', 'é.ß'];
    const subjects = new Set<string>();
    for (const topic of topics) {
      const subject = topicSubject('p', topic);
      assert.equal(subjectTopic('p', subject), topic, `round trip of ${JSON.stringify(topic)}`);
      subjects.add(subject);
    }
    assert.equal(subjects.size, topics.length);
    assert.equal(subjectTopic('p', 'q.a'), null, 'another prefix');
    assert.equal(subjectTopic(undefined, 'a.%G1'), null, 'not an escape');
  });
});

describe('NATS pubsub on the wire (real server)', () => {
  let nc: NatsConnection;
  let driver: Driver & PubSubBasic;

  before(async () => {
    nc = await connect({ servers: stackEnv.natsUrl });
    driver = (await natsDriver.create(natsDriver.configSchema.parse({ servers: stackEnv.natsUrl }), {
      backend: 'nats-subjects',
    })) as Driver & PubSubBasic;
  });

  after(async () => {
    await driver?.close();
    await nc?.close();
  });

  it('a raw subscriber to <registry>.> receives every identity topic, and the driver hears raw publishes', async () => {
    const registry = uniqueName('fleet');
    const subjects: string[] = [];
    const raw = nc.subscribe(`multicast.${registry}.>`, {
      callback: (_err, m) => {
        subjects.push(m.subject);
      },
    });
    await nc.flush();
    const heard: string[] = [];
    const sub = await driver.subscribe(`multicast.${registry}.web-2`, (m) => heard.push(m.topic));

    await driver.publish(`multicast.${registry}.web-1`, new TextEncoder().encode('drain'));
    await driver.publish(`multicast.${registry}.eu.web-3`, new TextEncoder().encode('drain'));
    nc.publish(`multicast.${registry}.web-2`, new TextEncoder().encode('from a NATS user'));
    await nc.flush();
    const deadline = Date.now() + 5_000;
    while ((subjects.length < 3 || heard.length < 1) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));

    assert.deepEqual(subjects.sort(), [
      `multicast.${registry}.eu.web-3`,
      `multicast.${registry}.web-1`,
      `multicast.${registry}.web-2`,
    ]);
    assert.deepEqual(heard, [`multicast.${registry}.web-2`]);
    raw.unsubscribe();
    await sub.unsubscribe();
  });
});
