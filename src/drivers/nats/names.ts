// Names the driver derives from user input: topic, stream, queue and group names become subject
// tokens and JetStream stream/consumer names, which allow only a restricted charset.
//
// encodeToken keeps [A-Za-z0-9-] and writes every other character as `_XX` per UTF-8 byte (`_`
// included, so the encoding is injective). Characters encode independently, so the encoding of a
// prefix is a prefix of the encoding: KV scans rely on that.
import { createHash } from 'node:crypto';
import { checkName as checkNameOf, DEFAULT_LIMITS } from '../limits';
import { DRIVER } from './errors';

const HEX = '0123456789ABCDEF';

function isLiteral(code: number): boolean {
  return (
    (code >= 0x30 && code <= 0x39) || // 0-9
    (code >= 0x41 && code <= 0x5a) || // A-Z
    (code >= 0x61 && code <= 0x7a) || // a-z
    code === 0x2d // -
  );
}

export function encodeToken(s: string): string {
  let out = '';
  for (const ch of s) {
    const code = ch.charCodeAt(0);
    if (ch.length === 1 && isLiteral(code)) {
      out += ch;
      continue;
    }
    for (const byte of Buffer.from(ch, 'utf8')) out += '_' + HEX[byte >> 4] + HEX[byte & 15];
  }
  return out;
}

/** Bytes a subject token cannot hold: whitespace and controls, the wildcards `*` `>`, and `%` (the escape). */
function forbiddenInSubject(code: number): boolean {
  return code <= 0x20 || code === 0x7f || code === 0x2a || code === 0x3e || code === 0x25;
}

/** Whether some token of the topic is empty or holds a byte a subject token cannot. */
function needsEscape(topic: string): boolean {
  if (topic === '' || topic.startsWith('.') || topic.endsWith('.') || topic.includes('..')) return true;
  for (let i = 0; i < topic.length; i++) if (forbiddenInSubject(topic.charCodeAt(i))) return true;
  return false;
}

/**
 * The NATS subject of a pubsub topic: its dots stay subject separators, so topic
 * `multicast.fleet.web-1` is subject `multicast.fleet.web-1` and a NATS user can subscribe to
 * `multicast.fleet.>`. Only what a token cannot hold is escaped, as `%XX` per byte; an empty token
 * (`a..b`, a leading or trailing dot) is written `%`, which no escaped token equals.
 */
export function topicSubject(prefix: string | undefined, topic: string): string {
  // Most topics need no escape (a multicast's, one per target): their subject is the topic itself.
  if (!needsEscape(topic)) return prefix ? `${prefix}.${topic}` : topic;
  const tokens = topic.split('.').map((token) => {
    if (token === '') return '%';
    let out = '';
    for (let i = 0; i < token.length; i++) {
      const code = token.charCodeAt(i);
      out += forbiddenInSubject(code) ? '%' + HEX[code >> 4] + HEX[code & 15] : token[i];
    }
    return out;
  });
  return prefix ? `${prefix}.${tokens.join('.')}` : tokens.join('.');
}

/** Inverse of topicSubject: the topic of a subject under prefix, or null when it is not one. */
export function subjectTopic(prefix: string | undefined, subject: string): string | null {
  let rest = subject;
  if (prefix) {
    if (!subject.startsWith(prefix + '.')) return null;
    rest = subject.slice(prefix.length + 1);
  }
  const tokens: string[] = [];
  for (const token of rest.split('.')) {
    if (token === '%') {
      tokens.push('');
      continue;
    }
    if (!/^(?:[^%]|%[0-9A-F]{2})+$/.test(token)) return null;
    tokens.push(token.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))));
  }
  return tokens.join('.');
}

/** Inverse of encodeToken; null when `s` is not an encoding. */
export function decodeToken(s: string): string | null {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    if (isLiteral(code)) {
      bytes.push(code);
    } else if (code === 0x5f /* _ */ && /^[0-9A-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      return null;
    }
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
  } catch {
    return null;
  }
}

/** Longest encoded name used as is in a stream or consumer name (they become file names). */
const MAX_NAME_TOKEN = 96;

/**
 * The encoded name, shortened with a hash when long: stream and consumer names become directory
 * names on the server, so they must stay well under 255 bytes.
 */
export function nameToken(name: string): string {
  const token = encodeToken(name);
  if (token.length <= MAX_NAME_TOKEN) return token;
  const hash = createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 32);
  // `_Z` never occurs in an encoding (escapes are `_` and two hex digits), so no plain name collides.
  return `${token.slice(0, MAX_NAME_TOKEN - 34)}_Z${hash}`;
}

/** A topic/stream/queue/group name: non-empty, well-formed, at most the default key length. */
export function checkName(what: string, name: unknown): string {
  return checkNameOf(DRIVER, what, name, DEFAULT_LIMITS);
}
