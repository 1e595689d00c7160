// The nats and kafka drivers on the loopback cluster (scripts/cluster): what they create is
// replicated (R3 streams, topics with replication 3 and min.insync 2), and appends resume after the
// node leading a stream or partition is killed with SIGKILL, with every acknowledged record kept.
// Runs only when the cluster's NATS and Kafka are up; skips with the reason otherwise.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Kafka, logLevel } from 'kafkajs';
import type { StreamBasic } from '../../src/drivers/capabilities';
import type { DriverBase } from '../../src/drivers/driver';
import { DriverError } from '../../src/drivers/errors';
import { kafkaDriver } from '../../src/drivers/kafka';
import { topicName } from '../../src/drivers/kafka/names';
import { natsDriver } from '../../src/drivers/nats';
import { nameToken } from '../../src/drivers/nats/names';
import { uniqueName } from '../helpers/env';

const CLUSTER = join(__dirname, '..', '..', '..', 'scripts/cluster');

function clusterScript(...args: string[]): string {
  return execFileSync(CLUSTER, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function clusterAddresses(): { nats: string[]; kafka: string[] } | { skip: string } {
  try {
    clusterScript('status', 'nats', 'kafka');
  } catch {
    return {
      skip: 'the loopback NATS and Kafka clusters are not up (scripts/cluster up nats kafka; see docs/cluster.md)',
    };
  }
  const env = clusterScript('env');
  const nats = /PRISM_NATS_SERVERS=(\S+)/.exec(env)?.[1];
  const kafka = /PRISM_KAFKA_BROKERS=(\S+)/.exec(env)?.[1];
  if (!nats || !kafka) return { skip: 'scripts/cluster env printed no NATS or Kafka addresses' };
  return { nats: nats.split(','), kafka: kafka.split(',') };
}

type StreamDriver = DriverBase & StreamBasic;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Appends until one succeeds after `kill` ran, at most 60 s; returns how long appends failed and the
 * error codes seen (each must be a retryable DriverError).
 */
async function appendThroughFault(
  driver: StreamDriver,
  stream: string,
  kill: () => void,
): Promise<{ ms: number; errors: Record<string, number>; offset: string }> {
  const killedAt = Date.now();
  kill();
  const errors: Record<string, number> = {};
  while (Date.now() - killedAt < 60_000) {
    try {
      const { offset } = await driver.append(stream, Buffer.from('after'));
      return { ms: Date.now() - killedAt, errors, offset };
    } catch (err) {
      if (!(err instanceof DriverError)) throw err;
      assert.equal(err.retryable, true, `a failover error is retryable: ${err.message}`);
      errors[err.code] = (errors[err.code] ?? 0) + 1;
      await sleep(100);
    }
  }
  assert.fail('appends did not resume within 60 s');
}

const addresses = clusterAddresses();
const skip = 'skip' in addresses ? addresses.skip : false;

describe('nats driver on a three-node JetStream cluster', { skip }, () => {
  let driver: StreamDriver | undefined;
  before(async () => {
    if (!('nats' in addresses)) return;
    const config = natsDriver.configSchema.parse({ servers: addresses.nats, replicas: 3, timeoutMs: 2_000 });
    driver = (await natsDriver.create(config, { backend: 'cluster-nats' })) as unknown as StreamDriver;
  });
  after(async () => {
    await driver?.close();
  });

  it('creates R3 streams and keeps appending after the stream leader is killed', async (t) => {
    if (!driver || !('nats' in addresses)) return;
    const stream = uniqueName('r3');
    for (let i = 0; i < 5; i += 1) await driver.append(stream, Buffer.from(`before-${i}`));

    const nc = await connect({ servers: addresses.nats });
    let leader: string;
    try {
      const info = await (await jetstreamManager(nc)).streams.info(`PRISM_STREAM_${nameToken(stream)}`);
      assert.equal(info.config.num_replicas, 3);
      assert.equal(info.cluster?.replicas?.length, 2, 'a leader and two replicas');
      leader = info.cluster?.leader ?? '';
    } finally {
      await nc.close();
    }
    const node = /^prism-nats-(\d)$/.exec(leader)?.[1];
    assert.ok(node, `the leader is one of the cluster's nodes (${leader})`);

    try {
      const fault = await appendThroughFault(driver, stream, () => clusterScript('kill', `nats-${node}`));
      t.diagnostic(
        `appends resumed ${fault.ms} ms after kill -9 of stream leader ${leader} (errors: ${JSON.stringify(fault.errors)})`,
      );
      const records = await driver.read(stream, { limit: 100 });
      assert.deepEqual(
        records.map((r) => Buffer.from(r.payload).toString()),
        ['before-0', 'before-1', 'before-2', 'before-3', 'before-4', 'after'],
        'every acknowledged record is kept, in order',
      );
    } finally {
      clusterScript('up', 'nats');
    }
  });
});

describe('kafka driver on three brokers', { skip }, () => {
  let driver: StreamDriver | undefined;
  before(async () => {
    if (!('kafka' in addresses)) return;
    const config = kafkaDriver.configSchema.parse({
      brokers: addresses.kafka,
      topics: { replicationFactor: 3, minInsyncReplicas: 2 },
    });
    driver = (await kafkaDriver.create(config, { backend: 'cluster-kafka' })) as unknown as StreamDriver;
  });
  after(async () => {
    await driver?.close();
  });

  it('creates topics with 3 replicas and min.insync 2, and keeps appending after the leader is killed', async (t) => {
    if (!driver || !('kafka' in addresses)) return;
    const stream = uniqueName('rf3');
    for (let i = 0; i < 5; i += 1) await driver.append(stream, Buffer.from(`before-${i}`));

    const admin = new Kafka({ brokers: addresses.kafka, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    let leader: number;
    try {
      const topic = topicName('', stream);
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      const [partition] = topics[0].partitions;
      assert.equal(partition.replicas.length, 3);
      leader = partition.leader;
      const described = await admin.describeConfigs({
        resources: [{ type: 2, name: topic, configNames: ['min.insync.replicas'] }],
        includeSynonyms: false,
      });
      assert.equal(described.resources[0].configEntries[0].configValue, '2');
    } finally {
      await admin.disconnect();
    }

    try {
      const fault = await appendThroughFault(driver, stream, () => clusterScript('kill', `kafka-${leader}`));
      t.diagnostic(
        `appends resumed ${fault.ms} ms after kill -9 of partition leader broker ${leader} (errors: ${JSON.stringify(fault.errors)})`,
      );
      const records = await driver.read(stream, { limit: 100, waitMs: 5_000 });
      assert.deepEqual(
        records.map((r) => Buffer.from(r.payload).toString()),
        ['before-0', 'before-1', 'before-2', 'before-3', 'before-4', 'after'],
        'every acknowledged record is kept, in order',
      );
    } finally {
      clusterScript('up', 'kafka');
    }
  });
});
