// A decoder for the pgoutput logical replication protocol, version 1 (PostgreSQL 10+), as
// returned by pg_logical_slot_peek_binary_changes: one message per row.
// https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html

/** Microseconds between the Unix epoch and the Postgres epoch (2000-01-01). */
const PG_EPOCH_MICROS = 946_684_800_000_000n;

export type TupleValue = { kind: 'null' } | { kind: 'unchanged' } | { kind: 'text'; text: string };

export interface RelationColumn {
  /** Bit 1: the column is part of the replica identity. */
  flags: number;
  name: string;
  typeOid: number;
  typeMod: number;
}

export type PgOutputMessage =
  | { tag: 'begin'; finalLsn: bigint; commitTime: bigint; xid: number }
  | { tag: 'commit'; flags: number; commitLsn: bigint; endLsn: bigint; commitTime: bigint }
  | { tag: 'origin'; lsn: bigint; name: string }
  | {
      tag: 'relation';
      relationId: number;
      schema: string;
      table: string;
      replicaIdentity: string;
      columns: RelationColumn[];
    }
  | { tag: 'type'; typeOid: number; schema: string; name: string }
  | { tag: 'insert'; relationId: number; newTuple: TupleValue[] }
  | {
      tag: 'update';
      relationId: number;
      /** 'K': only the replica identity key columns; 'O': the whole old row (REPLICA IDENTITY FULL). */
      oldKind: 'K' | 'O' | null;
      oldTuple: TupleValue[] | null;
      newTuple: TupleValue[];
    }
  | { tag: 'delete'; relationId: number; oldKind: 'K' | 'O'; oldTuple: TupleValue[] }
  | { tag: 'truncate'; options: number; relationIds: number[] }
  | { tag: 'message'; flags: number; lsn: bigint; prefix: string; content: Buffer };

export class PgOutputError extends Error {
  override readonly name = 'PgOutputError';
}

class Reader {
  private offset = 0;

  constructor(private readonly buf: Buffer) {}

  private need(bytes: number): void {
    if (this.offset + bytes > this.buf.length) {
      throw new PgOutputError(`truncated pgoutput message (need ${bytes} bytes at offset ${this.offset})`);
    }
  }

  byte(): number {
    this.need(1);
    return this.buf.readUInt8(this.offset++);
  }

  char(): string {
    return String.fromCharCode(this.byte());
  }

  int16(): number {
    this.need(2);
    const value = this.buf.readInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  int32(): number {
    this.need(4);
    const value = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  uint32(): number {
    this.need(4);
    const value = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  uint64(): bigint {
    this.need(8);
    const value = this.buf.readBigUInt64BE(this.offset);
    this.offset += 8;
    return value;
  }

  int64(): bigint {
    this.need(8);
    const value = this.buf.readBigInt64BE(this.offset);
    this.offset += 8;
    return value;
  }

  cstring(): string {
    const end = this.buf.indexOf(0, this.offset);
    if (end < 0) throw new PgOutputError('unterminated string in pgoutput message');
    const value = this.buf.toString('utf8', this.offset, end);
    this.offset = end + 1;
    return value;
  }

  bytes(length: number): Buffer {
    this.need(length);
    const value = this.buf.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  tuple(): TupleValue[] {
    const count = this.int16();
    const values: TupleValue[] = [];
    for (let i = 0; i < count; i++) {
      const kind = this.char();
      switch (kind) {
        case 'n':
          values.push({ kind: 'null' });
          break;
        case 'u':
          values.push({ kind: 'unchanged' });
          break;
        case 't':
          values.push({ kind: 'text', text: this.bytes(this.int32()).toString('utf8') });
          break;
        default:
          // 'b' (binary) is only sent when asked for with the binary option, which we never set.
          throw new PgOutputError(`unexpected tuple value kind "${kind}"`);
      }
    }
    return values;
  }
}

export function decodePgOutput(data: Buffer): PgOutputMessage {
  const r = new Reader(data);
  const tag = r.char();
  switch (tag) {
    case 'B':
      return { tag: 'begin', finalLsn: r.uint64(), commitTime: r.int64(), xid: r.uint32() };
    case 'C':
      return { tag: 'commit', flags: r.byte(), commitLsn: r.uint64(), endLsn: r.uint64(), commitTime: r.int64() };
    case 'O':
      return { tag: 'origin', lsn: r.uint64(), name: r.cstring() };
    case 'R': {
      const relationId = r.uint32();
      const schema = r.cstring();
      const table = r.cstring();
      const replicaIdentity = r.char();
      const count = r.int16();
      const columns: RelationColumn[] = [];
      for (let i = 0; i < count; i++) {
        columns.push({ flags: r.byte(), name: r.cstring(), typeOid: r.uint32(), typeMod: r.int32() });
      }
      return { tag: 'relation', relationId, schema, table, replicaIdentity, columns };
    }
    case 'Y':
      return { tag: 'type', typeOid: r.uint32(), schema: r.cstring(), name: r.cstring() };
    case 'I': {
      const relationId = r.uint32();
      const marker = r.char();
      if (marker !== 'N') throw new PgOutputError(`insert: expected "N", got "${marker}"`);
      return { tag: 'insert', relationId, newTuple: r.tuple() };
    }
    case 'U': {
      const relationId = r.uint32();
      let marker = r.char();
      let oldKind: 'K' | 'O' | null = null;
      let oldTuple: TupleValue[] | null = null;
      if (marker === 'K' || marker === 'O') {
        oldKind = marker;
        oldTuple = r.tuple();
        marker = r.char();
      }
      if (marker !== 'N') throw new PgOutputError(`update: expected "N", got "${marker}"`);
      return { tag: 'update', relationId, oldKind, oldTuple, newTuple: r.tuple() };
    }
    case 'D': {
      const relationId = r.uint32();
      const marker = r.char();
      if (marker !== 'K' && marker !== 'O') throw new PgOutputError(`delete: expected "K" or "O", got "${marker}"`);
      return { tag: 'delete', relationId, oldKind: marker, oldTuple: r.tuple() };
    }
    case 'T': {
      const count = r.int32();
      const options = r.byte();
      const relationIds: number[] = [];
      for (let i = 0; i < count; i++) relationIds.push(r.uint32());
      return { tag: 'truncate', options, relationIds };
    }
    case 'M': {
      const flags = r.byte();
      const lsn = r.uint64();
      const prefix = r.cstring();
      const content = r.bytes(r.int32());
      return { tag: 'message', flags, lsn, prefix, content };
    }
    default:
      throw new PgOutputError(`unknown pgoutput message "${tag}"`);
  }
}

/** "16/B374D848", as Postgres prints an LSN. */
export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** Parses "16/B374D848"; null when malformed. */
export function parseLsn(text: string): bigint | null {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  if (!match) return null;
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

/** A pgoutput timestamp (microseconds since 2000-01-01) as an ISO string. */
export function pgTimestampToIso(micros: bigint): string {
  const unixMicros = micros + PG_EPOCH_MICROS;
  return new Date(Number(unixMicros / 1000n)).toISOString();
}
