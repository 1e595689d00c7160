// stream_basic on Redis: one Redis stream per stream (XADD/XRANGE, fields p: payload, h: headers
// JSON). A group's position is only its committed offset (a small key set by commit()): readGroup
// always reads after it, so reads are repeatable until committed and a restarted consumer, on
// any worker, resumes where the group left off. The consumer name does not partition records.
import type { Bytes, Headers, StreamBasic, StreamRecord } from '../capabilities';
import { DriverError } from '../errors';
import { checkLimit, checkValue, type Limits } from '../limits';
import { checkHeaders, checkMs, checkName } from './checks';
import type { RedisContext } from './context';
import { DRIVER, invalid } from './errors';
import { parseHeaders, toBuffer } from './replies';

const STREAM_OFFSET = /^\d+-\d+$/;

function checkOffset(offset: unknown): string {
  if (typeof offset !== 'string' || !STREAM_OFFSET.test(offset)) throw invalid('malformed stream offset');
  return offset;
}

function toStreamRecords(entries: [Buffer, Buffer[]][] | null): StreamRecord[] {
  if (!entries) return [];
  return entries.map(([id, fields]) => {
    let payload: Buffer = Buffer.alloc(0);
    let headers: Headers = {};
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const field = fields[i].toString('utf8');
      if (field === 'p') payload = fields[i + 1];
      else if (field === 'h') headers = parseHeaders(fields[i + 1]);
    }
    return { offset: id.toString('utf8'), payload, headers };
  });
}

export class RedisStream implements StreamBasic {
  private readonly limits: Limits;

  constructor(private readonly ctx: RedisContext) {
    this.limits = ctx.limits;
  }

  async append(stream: string, payload: Bytes, headers?: Headers): Promise<{ offset: string }> {
    return this.ctx.run(async () => {
      checkName('stream', stream, this.limits);
      checkValue(DRIVER, payload, this.limits);
      const json = JSON.stringify(checkHeaders(headers));
      const offset = await this.ctx.client.xadd(this.streamKey(stream), '*', 'p', toBuffer(payload), 'h', json);
      if (offset === null) throw new DriverError(DRIVER, 'Unavailable', 'XADD returned no id');
      return { offset };
    });
  }

  async read(
    stream: string,
    options: { after?: string | null; limit?: number; waitMs?: number },
  ): Promise<StreamRecord[]> {
    return this.ctx.run(() => {
      checkName('stream', stream, this.limits);
      const after = options?.after === undefined || options.after === null ? null : checkOffset(options.after);
      const limit = checkLimit(DRIVER, options?.limit, 100);
      const waitMs = checkMs('waitMs', options?.waitMs, { fallback: 0 });
      return this.ctx.poll(waitMs, () => this.readAfter(stream, after, limit));
    });
  }

  async readGroup(
    stream: string,
    group: string,
    consumer: string,
    options: { limit?: number; waitMs?: number },
  ): Promise<StreamRecord[]> {
    return this.ctx.run(() => {
      checkName('stream', stream, this.limits);
      checkName('group', group, this.limits);
      checkName('consumer', consumer, this.limits);
      const limit = checkLimit(DRIVER, options?.limit, 100);
      const waitMs = checkMs('waitMs', options?.waitMs, { fallback: 0 });
      return this.ctx.poll(waitMs, async () => {
        const committed = await this.ctx.client.get(this.committedKey(stream, group));
        return this.readAfter(stream, committed, limit);
      });
    });
  }

  async commit(stream: string, group: string, offset: string): Promise<void> {
    await this.ctx.run(() => {
      checkName('stream', stream, this.limits);
      checkName('group', group, this.limits);
      return this.ctx.client.set(this.committedKey(stream, group), checkOffset(offset));
    });
  }

  async committed(stream: string, group: string): Promise<string | null> {
    return this.ctx.run(() => {
      checkName('stream', stream, this.limits);
      checkName('group', group, this.limits);
      return this.ctx.client.get(this.committedKey(stream, group));
    });
  }

  private async readAfter(stream: string, after: string | null, limit: number): Promise<StreamRecord[]> {
    const start = after === null ? '-' : `(${after}`;
    return toStreamRecords(await this.ctx.client.xrangeBuffer(this.streamKey(stream), start, '+', 'COUNT', limit));
  }

  private streamKey(stream: string): Buffer {
    return this.ctx.internalKey('s', stream);
  }

  private committedKey(stream: string, group: string): Buffer {
    return this.ctx.internalKey('c', stream, group);
  }
}
