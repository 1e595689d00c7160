// Kafka topic names allow [A-Za-z0-9._-], at most 249 characters. Topic and stream names keep
// [A-Za-z0-9.-] as they are (so "orders.created" is the topic "orders.created") and write every
// other character as `_XX` per UTF-8 byte (`_` included: no two names map to one topic); long
// names are shortened with a hash.
import { createHash } from 'node:crypto';
import { DriverError } from '../errors';
import { checkName as checkNameOf, DEFAULT_LIMITS } from '../limits';
import { DRIVER } from './errors';

const HEX = '0123456789ABCDEF';
const MAX_TOPIC = 249;

/** A name that is its own encoding (most are): one test instead of one per character. */
const PLAIN = /^[A-Za-z0-9.-]*$/;

export function encodeTopic(name: string): string {
  if (PLAIN.test(name)) return name;
  let out = '';
  for (const ch of name) {
    if (/^[A-Za-z0-9.-]$/.test(ch)) {
      out += ch;
      continue;
    }
    for (const byte of Buffer.from(ch, 'utf8')) out += '_' + HEX[byte >> 4] + HEX[byte & 15];
  }
  return out;
}

/** The Kafka topic for a name, under a prefix. */
export function topicName(prefix: string, name: string): string {
  let topic = prefix + encodeTopic(name);
  // "." and ".." are not valid topic names.
  if (topic === '.' || topic === '..') topic = topic.replace(/\./g, '_2E');
  if (topic.length <= MAX_TOPIC) return topic;
  const hash = createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 32);
  // `_Z` never occurs in an encoding (escapes are `_` and two hex digits): no plain name collides.
  return `${topic.slice(0, MAX_TOPIC - 34)}_Z${hash}`;
}

/** A topic/stream/queue/group name: non-empty, well-formed, at most the default key length. */
export function checkName(what: string, name: unknown): string {
  return checkNameOf(DRIVER, what, name, DEFAULT_LIMITS);
}

export function checkWait(waitMs: unknown): number {
  if (waitMs === undefined) return 0;
  if (typeof waitMs !== 'number' || !Number.isFinite(waitMs) || waitMs < 0) {
    throw new DriverError(DRIVER, 'InvalidArgument', 'waitMs must be a non-negative number');
  }
  return Math.min(waitMs, 24 * 60 * 60 * 1000);
}
