// stream_basic over JetStream streams: stream `s` is the stream `<streamPrefix>_<nameToken(s)>`
// capturing the subject `<streamSubjectPrefix>.<encodeToken(s)>`. Offsets are stream sequence
// numbers in decimal.
//
// Consumer groups are durable pull consumers (named after the group) with AckPolicy.All: commit
// acks the record at the offset, which acks everything before it, so the committed offset is the
// consumer's ack floor. Group semantics, like Kafka's:
// - a new group starts at the beginning of the stream;
// - within a driver instance, readGroup continues after what it last returned (commit or not);
// - the first readGroup of a group in a driver instance (a restarted worker) rewinds the consumer
//   to the committed offset when records were delivered past it without a commit, so they are
//   delivered again. This is like a Kafka rebalance: other members' uncommitted records are
//   delivered again too (at-least-once);
// - commit of an offset this instance did not deliver (another worker delivered it, or the commit
//   moves the group backwards) re-creates the consumer to start after that offset.
// Records of all consumers of a group come from the one durable consumer: JetStream hands each
// record to one of them.
import { AckPolicy, DeliverPolicy, type ConsumerInfo } from '@nats-io/jetstream';
import { nanos } from './client';
import type { Bytes, Headers, StreamBasic, StreamRecord } from '../capabilities';
import { DriverError, isDriverError } from '../errors';
import { checkLimit, checkValue, type Limits } from '../limits';
import { DRIVER, guard } from './errors';
import { checkHeaders, fromNatsHeaders, toNatsHeaders } from './headers';
import { checkWait, JetStreamOps, type Pulled } from './jetstream';
import { checkName, encodeToken, nameToken } from './names';

export interface NatsStreamOptions {
  streamPrefix: string;
  subjectPrefix: string;
  groupAckWaitMs: number;
  limits: Limits;
}

/** Most deliveries remembered per group for commit; older ones commit by re-creating the consumer. */
const MAX_REMEMBERED = 100_000;

function parseOffset(offset: unknown): number {
  if (typeof offset !== 'string' || !/^[1-9][0-9]{0,15}$/.test(offset) || !Number.isSafeInteger(Number(offset))) {
    throw new DriverError(DRIVER, 'InvalidArgument', `not an offset of this driver: ${String(offset)}`);
  }
  return Number(offset);
}

/** The committed sequence of a group consumer: its ack floor, or where it was created to start. */
function committedSeq(info: ConsumerInfo): number {
  if (info.ack_floor.consumer_seq > 0) return info.ack_floor.stream_seq;
  const start = info.config.opt_start_seq;
  return info.config.deliver_policy === DeliverPolicy.StartSequence && start ? start - 1 : 0;
}

export class NatsStream implements StreamBasic {
  /** Groups this instance has started reading (see the rewind rule above). */
  private readonly sessions = new Map<string, Promise<void>>();
  /** Ack subjects of records delivered by readGroup and not yet committed, by group then sequence. */
  private readonly delivered = new Map<string, Map<number, string>>();

  constructor(
    private readonly ops: JetStreamOps,
    private readonly options: NatsStreamOptions,
  ) {}

  private names(stream: string): { name: string; subject: string } {
    checkName('stream', stream);
    return {
      name: `${this.options.streamPrefix}_${nameToken(stream)}`,
      subject: `${this.options.subjectPrefix}.${encodeToken(stream)}`,
    };
  }

  private async ensure(stream: string): Promise<{ name: string; subject: string }> {
    const n = this.names(stream);
    await this.ops.ensureStream(JetStreamOps.limitsStream(n.name, n.subject));
    return n;
  }

  private toRecord(m: Pulled): StreamRecord {
    return {
      offset: String(m.delivery.streamSeq),
      payload: new Uint8Array(m.data),
      headers: fromNatsHeaders(m.headers),
    };
  }

  async append(stream: string, payload: Bytes, headers?: Headers): Promise<{ offset: string }> {
    const n = this.names(stream);
    checkValue(DRIVER, payload, this.options.limits);
    const user = checkHeaders(headers);
    const h = toNatsHeaders(user);
    const publish = () =>
      guard(`append to ${stream}`, () =>
        this.ops.js.publish(n.subject, payload, { ...(h ? { headers: h } : {}), timeout: this.ops.timeoutMs }),
      );
    await this.ops.ensureStream(JetStreamOps.limitsStream(n.name, n.subject));
    try {
      return { offset: String((await publish()).seq) };
    } catch (err) {
      // No stream captures the subject (deleted behind our back): create it again, once.
      if (!(isDriverError(err) && err.code === 'Unavailable' && /no responders/i.test(err.message))) throw err;
      this.ops.forgetStream(n.name);
      await this.ops.ensureStream(JetStreamOps.limitsStream(n.name, n.subject));
      return { offset: String((await publish()).seq) };
    }
  }

  async read(
    stream: string,
    options: { after?: string | null; limit?: number; waitMs?: number },
  ): Promise<StreamRecord[]> {
    const after = options?.after == null ? 0 : parseOffset(options.after);
    const limit = checkLimit(DRIVER, options?.limit, 100);
    const waitMs = checkWait(options?.waitMs);
    const n = await this.ensure(stream);
    const msgs = await this.ops.readRange(n.name, after + 1, limit, waitMs);
    return msgs.map((m) => this.toRecord(m));
  }

  private groupKey(stream: string, group: string): string {
    return `${stream}\u0000${group}`;
  }

  private createGroupConsumer(streamName: string, durable: string, startSeq: number): Promise<ConsumerInfo> {
    return this.ops.addConsumer(streamName, {
      durable_name: durable,
      ack_policy: AckPolicy.All,
      ...(startSeq > 1
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startSeq }
        : { deliver_policy: DeliverPolicy.All }),
      ack_wait: nanos(this.options.groupAckWaitMs),
      max_deliver: -1,
      max_ack_pending: -1,
      // Durable: as many replicas as its stream (num_replicas 0).
      num_replicas: 0,
    });
  }

  /** Re-creates the group's consumer so that the next record it delivers is startSeq. */
  private async resetGroup(key: string, streamName: string, durable: string, startSeq: number): Promise<void> {
    this.delivered.delete(key);
    await this.ops.deleteConsumer(streamName, durable);
    await this.createGroupConsumer(streamName, durable, startSeq);
  }

  /** First use of a group in this instance: create its consumer, or rewind it to the committed offset. */
  private async startSession(key: string, streamName: string, durable: string): Promise<void> {
    const info = await this.ops.consumerInfo(streamName, durable);
    if (!info) {
      await this.createGroupConsumer(streamName, durable, 1);
      return;
    }
    const committed = committedSeq(info);
    if (info.delivered.stream_seq > committed) await this.resetGroup(key, streamName, durable, committed + 1);
  }

  async readGroup(
    stream: string,
    group: string,
    consumer: string,
    options: { limit?: number; waitMs?: number },
  ): Promise<StreamRecord[]> {
    checkName('group', group);
    checkName('consumer', consumer);
    const limit = checkLimit(DRIVER, options?.limit, 100);
    const waitMs = checkWait(options?.waitMs);
    const n = await this.ensure(stream);
    const durable = nameToken(group);
    const key = this.groupKey(stream, group);
    let session = this.sessions.get(key);
    if (!session) {
      session = this.startSession(key, n.name, durable);
      this.sessions.set(key, session);
      session.catch(() => this.sessions.delete(key));
    }
    await session;
    let msgs: Pulled[];
    try {
      msgs = await this.ops.fetch(n.name, durable, limit, waitMs);
    } catch (err) {
      if (!(isDriverError(err) && err.code === 'NotFound')) throw err;
      // The consumer was deleted (maybe re-created by another instance's commit): set it up again.
      this.sessions.delete(key);
      this.ops.forgetStream(n.name);
      await this.ensure(stream);
      const retry = this.startSession(key, n.name, durable);
      this.sessions.set(key, retry);
      await retry;
      msgs = await this.ops.fetch(n.name, durable, limit, waitMs);
    }
    let remembered = this.delivered.get(key);
    if (!remembered) this.delivered.set(key, (remembered = new Map()));
    for (const m of msgs) remembered.set(m.delivery.streamSeq, m.reply);
    while (remembered.size > MAX_REMEMBERED) {
      const oldest = remembered.keys().next().value as number;
      remembered.delete(oldest);
    }
    return msgs.map((m) => this.toRecord(m));
  }

  async commit(stream: string, group: string, offset: string): Promise<void> {
    checkName('group', group);
    const seq = parseOffset(offset);
    const n = await this.ensure(stream);
    const durable = nameToken(group);
    const key = this.groupKey(stream, group);
    const remembered = this.delivered.get(key) ?? new Map<number, string>();
    const reply = remembered.get(seq);
    if (reply) {
      try {
        await this.ops.ack(reply, `commit ${stream}/${group}`);
        for (const s of [...remembered.keys()]) if (s <= seq) remembered.delete(s);
        return;
      } catch (err) {
        // The delivery belongs to a consumer that no longer exists: fall back to re-creating it.
        if (!(isDriverError(err) && err.code === 'NotFound')) throw err;
      }
    }
    const info = await this.ops.consumerInfo(n.name, durable);
    if (info && committedSeq(info) === seq) return;
    await guard(`commit ${stream}/${group}`, () => this.resetGroup(key, n.name, durable, seq + 1));
  }

  async committed(stream: string, group: string): Promise<string | null> {
    checkName('group', group);
    const n = this.names(stream);
    const info = await this.ops.consumerInfo(n.name, nameToken(group)).catch((err: unknown) => {
      if (isDriverError(err) && err.code === 'NotFound') return null;
      throw err;
    });
    if (!info) return null;
    const seq = committedSeq(info);
    return seq > 0 ? String(seq) : null;
  }
}
