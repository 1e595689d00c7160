// stream_basic over Kafka topics. Stream `s` is the topic `<streamTopicPrefix><encoded s>`
// (created with the configured partition count, 1 by default). append produces to partition 0,
// so a stream is totally ordered; offsets are `<partition>:<offset>`.
//
// read: kafkajs has no plain fetch API, so a read is a short-lived consumer in a throwaway group
// that seeks to the read position when it joins. It costs a group join (plus the
// broker's group.initial.rebalance.delay.ms, 3 s by default, 0 in the local stack): prefer
// readGroup for steady consumption. A read with nothing to return and no waitMs costs one
// ListOffsets request only.
//
// readGroup: one long-lived consumer per (stream, group) in the driver instance, group id
// `<groupPrefix><topic>:<group>` (consumer names are not used: Kafka assigns member ids).
// Records are fetched ahead into a bounded buffer; readGroup takes from it, so a group continues
// after what it last returned. A restarted worker's consumer starts at the committed offset, as do
// the group's consumers after a rebalance (records returned but not committed are returned again).
// commit = commitOffsets(offset + 1) through the group's consumer in this instance (joining the
// group if there is none: Kafka takes commits from group members only); a commit ahead of the
// consumer's position also moves the position there.
import { randomUUID } from 'node:crypto';
import type { Consumer, EachBatchPayload } from 'kafkajs';
import type { Bytes, Headers, StreamBasic, StreamRecord } from '../capabilities';
import { DriverError } from '../errors';
import { checkLimit, checkValue } from '../limits';
import { joined, type KafkaClient } from './client';
import { DRIVER, guard, protocolErrorType } from './errors';
import { checkHeaders, fromKafkaHeaders, toKafkaHeaders } from './headers';
import { checkName, checkWait, topicName } from './names';
import { toBuffer } from './pubsub';

interface Position {
  partition: number;
  offset: bigint;
}

function parseOffset(offset: unknown): Position {
  const m = typeof offset === 'string' ? /^(\d{1,9}):(\d{1,19})$/.exec(offset) : null;
  if (!m) throw new DriverError(DRIVER, 'InvalidArgument', `not an offset of this driver: ${String(offset)}`);
  return { partition: Number(m[1]), offset: BigInt(m[2]) };
}

function toRecord(partition: number, message: EachBatchPayload['batch']['messages'][number]): StreamRecord {
  return {
    offset: `${partition}:${message.offset}`,
    payload: message.value ? new Uint8Array(message.value) : new Uint8Array(0),
    headers: fromKafkaHeaders(message.headers),
  };
}

/** Longest a consumer's fetch waits on the broker: bounds how long disconnecting takes. */
const MAX_WAIT_MS = 500;
/** A group consumer pauses fetching above this many buffered records or bytes. */
const BUFFER_RECORDS = 1000;
const BUFFER_BYTES = 16 * 1024 * 1024;

/** Waits for a condition signalled by notify(), up to a deadline. */
class Signal {
  private waiters: (() => void)[] = [];

  notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.waiters.push(done);
    });
  }
}

/** A consumer group's long-lived consumer in this instance, fetching ahead into a buffer. */
interface Buffered {
  partition: number;
  offset: bigint;
  record: StreamRecord;
}

class GroupReader {
  private buffer: Buffered[] = [];
  private bufferedBytes = 0;
  private readonly signal = new Signal();
  private paused = false;
  private failure: unknown = null;
  /** Next offset per assigned partition, once known (fetched, or after a take). */
  private readonly positions = new Map<number, bigint>();
  private assigned: number[] = [];
  private joins = 0;

  private constructor(
    private readonly client: KafkaClient,
    private readonly topic: string,
    readonly groupId: string,
    private readonly consumer: Consumer,
  ) {}

  static async open(client: KafkaClient, topic: string, groupId: string): Promise<GroupReader> {
    const consumer = client.consumer({ groupId, maxWaitTimeInMs: MAX_WAIT_MS });
    const reader = new GroupReader(client, topic, groupId, consumer);
    const join = joined(consumer, client.config.requestTimeoutMs);
    try {
      await guard(`join group ${groupId}`, async () => {
        consumer.on(consumer.events.GROUP_JOIN, (event) => reader.onJoin(event.payload.memberAssignment));
        consumer.on(consumer.events.CRASH, (event) => {
          if (!event.payload.restart) reader.fail(event.payload.error);
        });
        await consumer.connect();
        // A new group starts at the beginning of the stream.
        await consumer.subscribe({ topics: [topic], fromBeginning: true });
        await consumer.run({
          autoCommit: false,
          eachBatch: (payload) => reader.onBatch(payload),
        });
        await join.promise;
      });
    } catch (err) {
      join.cancel();
      await client.disconnectConsumer(consumer);
      throw err;
    }
    return reader;
  }

  private onJoin(assignment: Record<string, number[]>): void {
    // After a rebalance the consumer restarts from the committed offsets: drop what was fetched.
    this.joins++;
    this.assigned = assignment[this.topic] ?? [];
    this.buffer.length = 0;
    this.bufferedBytes = 0;
    this.positions.clear();
    if (this.paused) {
      this.paused = false;
      this.consumer.resume([{ topic: this.topic }]);
    }
  }

  private fail(err: unknown): void {
    this.failure = err ?? new Error('the consumer crashed');
    this.signal.notify();
  }

  private async onBatch({ batch, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const joins = this.joins;
    for (const message of batch.messages) {
      if (!isRunning() || isStale() || joins !== this.joins) return;
      const record = toRecord(batch.partition, message);
      this.buffer.push({ partition: batch.partition, offset: BigInt(message.offset), record });
      this.bufferedBytes += record.payload.byteLength;
      this.positions.set(batch.partition, BigInt(message.offset) + 1n);
    }
    if (!this.paused && (this.buffer.length >= BUFFER_RECORDS || this.bufferedBytes >= BUFFER_BYTES)) {
      this.paused = true;
      this.consumer.pause([{ topic: this.topic }]);
    }
    this.signal.notify();
  }

  /** Whether the assigned partitions hold records this consumer has not fetched yet. */
  private async hasUnread(): Promise<boolean> {
    const { admin } = this.client;
    const ends = await admin.fetchTopicOffsets(this.topic);
    const unknown = this.assigned.filter((p) => !this.positions.has(p));
    const committed = new Map<number, bigint>();
    if (unknown.length > 0) {
      const [entry] = await admin.fetchOffsets({ groupId: this.groupId, topics: [this.topic] });
      for (const p of entry?.partitions ?? []) if (BigInt(p.offset) >= 0n) committed.set(p.partition, BigInt(p.offset));
    }
    return this.assigned.some((p) => {
      const end = ends.find((e) => e.partition === p);
      if (!end) return false;
      const position = this.positions.get(p) ?? committed.get(p) ?? BigInt(end.low);
      return BigInt(end.high) > position;
    });
  }

  async take(limit: number, waitMs: number): Promise<StreamRecord[]> {
    if (this.failure) throw this.failure;
    if (this.buffer.length === 0) {
      // Records already in the stream are returned without waitMs (give the fetch time to get them).
      const unread = await guard('readGroup', () => this.hasUnread());
      const deadline = Date.now() + (unread ? Math.max(waitMs, this.client.config.requestTimeoutMs) : waitMs);
      while (this.buffer.length === 0 && !this.failure && Date.now() < deadline) {
        await this.signal.wait(deadline - Date.now());
      }
      if (this.failure) throw this.failure;
    }
    const out = this.buffer.splice(0, limit);
    for (const b of out) this.bufferedBytes -= b.record.payload.byteLength;
    this.maybeResume();
    return out.map((b) => b.record);
  }

  private maybeResume(): void {
    if (this.paused && this.buffer.length < BUFFER_RECORDS / 2 && this.bufferedBytes < BUFFER_BYTES / 2) {
      this.paused = false;
      this.consumer.resume([{ topic: this.topic }]);
    }
  }

  /**
   * Commits offset + 1 (Kafka's committed offset is the next to read). A commit also sets the
   * group's position when it is ahead of this consumer's: records up to it are dropped from the
   * buffer and the consumer seeks past them.
   */
  async commit(position: Position): Promise<void> {
    const { partition } = position;
    const next = position.offset + 1n;
    await this.consumer.commitOffsets([{ topic: this.topic, partition, offset: String(next) }]);
    const kept = this.buffer.filter((b) => b.partition !== partition || b.offset >= next);
    for (const b of this.buffer) if (!kept.includes(b)) this.bufferedBytes -= b.record.payload.byteLength;
    this.buffer = kept;
    const current = this.positions.get(partition);
    if ((current === undefined || current < next) && this.assigned.includes(partition)) {
      this.consumer.seek({ topic: this.topic, partition, offset: String(next) });
      this.positions.set(partition, next);
    }
    this.maybeResume();
  }

  get failed(): boolean {
    return this.failure !== null;
  }

  close(): Promise<void> {
    return this.client.disconnectConsumer(this.consumer);
  }
}

export class KafkaStream implements StreamBasic {
  private readonly readers = new Map<string, Promise<GroupReader>>();

  constructor(private readonly client: KafkaClient) {}

  private topic(name: string): string {
    return topicName(this.client.config.streamTopicPrefix, checkName('stream', name));
  }

  private groupId(topic: string, group: string): string {
    return `${this.client.config.groupPrefix}${topic}:${checkName('group', group)}`;
  }

  async append(stream: string, payload: Bytes, headers?: Headers): Promise<{ offset: string }> {
    const t = this.topic(stream);
    checkValue(DRIVER, payload, this.client.limits);
    const user = checkHeaders(headers);
    await this.client.ensureTopic(t);
    const [meta] = await guard(`append to ${stream}`, () =>
      this.client.producer.send({
        topic: t,
        acks: -1,
        messages: [{ partition: 0, value: toBuffer(payload), headers: toKafkaHeaders(user) }],
      }),
    );
    const offset = meta?.baseOffset ?? meta?.offset;
    if (!meta || offset === undefined) {
      throw new DriverError(DRIVER, 'Unavailable', `append to ${stream}: the broker returned no offset`);
    }
    return { offset: `${meta.partition}:${offset}` };
  }

  async read(
    stream: string,
    options: { after?: string | null; limit?: number; waitMs?: number },
  ): Promise<StreamRecord[]> {
    const t = this.topic(stream);
    const after = options?.after == null ? null : parseOffset(options.after);
    const limit = checkLimit(DRIVER, options?.limit, 100);
    const waitMs = checkWait(options?.waitMs);
    const partition = after?.partition ?? 0;
    const started = Date.now();
    await this.client.ensureTopic(t);
    const end = await guard(`read ${stream}`, async () => {
      const ends = await this.client.admin.fetchTopicOffsets(t);
      return ends.find((e) => e.partition === partition);
    });
    if (!end) throw new DriverError(DRIVER, 'InvalidArgument', `stream ${stream} has no partition ${partition}`);
    let start = after ? after.offset + 1n : BigInt(end.low);
    if (start < BigInt(end.low)) start = BigInt(end.low);
    const available = start < BigInt(end.high);
    if (!available && waitMs === 0) return [];
    return guard(`read ${stream}`, () =>
      this.readRange(t, partition, start, limit, available ? this.client.config.requestTimeoutMs : waitMs, started),
    );
  }

  /**
   * Reads records of one partition from `start` with a throwaway consumer: returns once it has
   * `limit` records, or has reached the end of the partition with at least one, or at the deadline.
   */
  private async readRange(
    topic: string,
    partition: number,
    start: bigint,
    limit: number,
    waitMs: number,
    started: number,
  ): Promise<StreamRecord[]> {
    const { admin } = this.client;
    const groupId = `${this.client.config.groupPrefix}read:${topic}:${randomUUID()}`;
    const consumer = this.client.consumer({ groupId, maxWaitTimeInMs: Math.min(MAX_WAIT_MS, Math.max(waitMs, 50)) });
    // Seeking from the GROUP_JOIN listener (emitted synchronously before the first fetch) makes
    // the first fetch start at `start`.
    consumer.on(consumer.events.GROUP_JOIN, () => consumer.seek({ topic, partition, offset: String(start) }));
    const out: StreamRecord[] = [];
    const signal = new Signal();
    let done = false;
    let failure: unknown = null;
    consumer.on(consumer.events.CRASH, (event) => {
      failure = event.payload.error;
      signal.notify();
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: false });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch, isRunning, isStale }) => {
          if (done || batch.partition !== partition) return;
          let last = -1n;
          for (const message of batch.messages) {
            if (!isRunning() || isStale() || out.length >= limit) break;
            last = BigInt(message.offset);
            if (last >= start) out.push(toRecord(partition, message));
          }
          if (out.length >= limit || (out.length > 0 && last >= BigInt(batch.highWatermark) - 1n)) {
            done = true;
            signal.notify();
          }
        },
      });
      let deadline = started + waitMs;
      let extended = false;
      while (!done && !failure) {
        const left = deadline - Date.now();
        if (left > 0) {
          await signal.wait(left);
          continue;
        }
        if (out.length > 0 || extended) break;
        // Records appended before the deadline count: give the consumer time to fetch them.
        extended = true;
        const ends = await admin.fetchTopicOffsets(topic);
        const end = ends.find((e) => e.partition === partition);
        if (!end || BigInt(end.high) <= start) break;
        deadline = Date.now() + this.client.config.requestTimeoutMs;
      }
      if (failure && out.length === 0) throw failure;
      done = true;
      return out.slice(0, limit);
    } finally {
      await this.client.disconnectConsumer(consumer);
      void admin.deleteGroups([groupId]).catch(() => undefined);
    }
  }

  private reader(topic: string, groupId: string): Promise<GroupReader> {
    let r = this.readers.get(groupId);
    if (!r) {
      r = GroupReader.open(this.client, topic, groupId);
      this.readers.set(groupId, r);
      r.catch(() => this.readers.delete(groupId));
    }
    return r;
  }

  async readGroup(
    stream: string,
    group: string,
    consumer: string,
    options: { limit?: number; waitMs?: number },
  ): Promise<StreamRecord[]> {
    const t = this.topic(stream);
    const groupId = this.groupId(t, group);
    checkName('consumer', consumer);
    const limit = checkLimit(DRIVER, options?.limit, 100);
    const waitMs = checkWait(options?.waitMs);
    await this.client.ensureTopic(t);
    let reader = await this.reader(t, groupId);
    if (reader.failed) {
      this.readers.delete(groupId);
      await reader.close();
      reader = await this.reader(t, groupId);
    }
    return guard(`readGroup ${stream}/${group}`, () => reader.take(limit, waitMs));
  }

  async commit(stream: string, group: string, offset: string): Promise<void> {
    const t = this.topic(stream);
    const groupId = this.groupId(t, group);
    const position = parseOffset(offset);
    await this.client.ensureTopic(t);
    // Kafka accepts commits from members of the group only: without a consumer of the group in
    // this instance, join it (the consumer then serves this instance's readGroup calls).
    const reader = await this.reader(t, groupId);
    await guard(`commit ${stream}/${group}`, () => reader.commit(position));
  }

  async committed(stream: string, group: string): Promise<string | null> {
    const t = this.topic(stream);
    const groupId = this.groupId(t, group);
    const [entry] = await guard(`committed ${stream}/${group}`, async () => {
      try {
        return await this.client.admin.fetchOffsets({ groupId, topics: [t] });
      } catch (err) {
        // No such topic yet: nothing committed.
        if (protocolErrorType(err) === 'UNKNOWN_TOPIC_OR_PARTITION') return [];
        throw err;
      }
    });
    const parts = (entry?.partitions ?? []).filter((p) => BigInt(p.offset) > 0n);
    if (parts.length === 0) return null;
    const p = parts.find((x) => x.partition === 0) ?? parts[0];
    return `${p.partition}:${BigInt(p.offset) - 1n}`;
  }

  async close(): Promise<void> {
    const readers = [...this.readers.values()];
    this.readers.clear();
    await Promise.all(readers.map((r) => r.then((x) => x.close()).catch(() => undefined)));
  }
}
