// A batch message's own id is its Nats-Msg-Id: a JetStream stream capturing the topic keeps a
// message published again with the same id (a CDC event redelivered after a crash) once, and keeps
// messages without an id (a fresh id each) every time.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '../../src/drivers/nats/client';
import type { PubSubBatch } from '../../src/drivers/capabilities';
import type { Driver } from '../../src/drivers/driver';
import { natsDriver } from '../../src/drivers/nats';
import { topicSubject } from '../../src/drivers/nats/names';
import { stackEnv, uniqueName } from '../helpers/env';

describe('NATS publishBatch: a message id given by the caller', () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let driver: Driver & PubSubBatch;
  const topic = uniqueName('cdc-dedup');
  const stream = topic.replace(/[^A-Za-z0-9_-]/g, '_');

  before(async () => {
    nc = await connect({ servers: stackEnv.natsUrl });
    jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [topicSubject(undefined, topic)] });
    driver = (await natsDriver.create(natsDriver.configSchema.parse({ servers: stackEnv.natsUrl }), {
      backend: 'nats-message-id',
    })) as Driver & PubSubBatch;
  });

  after(async () => {
    await jsm?.streams.delete(stream).catch(() => undefined);
    await driver?.close();
    await nc?.close();
  });

  it('is the Nats-Msg-Id: JetStream stores a repeat of it once', async () => {
    const value = new TextEncoder().encode('{"id":"0/16B3748:1"}');
    const events = [
      { topic, key: '{"id":1}', value, id: '0/16B3748:1' },
      { topic, key: '{"id":2}', value, id: '0/16B3748:2' },
    ];
    await driver.publishBatch(events);
    // Delivered again, as after a crash before the slot was confirmed.
    await driver.publishBatch(events);
    // Without ids, each publish is a message of its own.
    await driver.publishBatch([{ topic, value }]);
    await driver.publishBatch([{ topic, value }]);
    const info = await jsm.streams.info(stream);
    assert.equal(info.state.messages, 4, 'two events once each, and two messages without an id');
    const first = await jsm.streams.getMessage(stream, { seq: 1 });
    assert.equal(first?.header.get('Nats-Msg-Id'), '0/16B3748:1');
  });
});
