// Input checks of publishBatch, shared by the drivers that offer pubsub_batch: the whole batch is
// checked before anything is sent, and an error names the message it is about.
import type { Bytes, Headers } from './capabilities';
import { DriverError, isDriverError } from './errors';
import { checkBatch, checkKey, checkValue, type Limits } from './limits';

export interface CheckedBatchMessage {
  topic: string;
  key: string | undefined;
  value: Bytes;
  headers: Headers;
  /** The caller's message id, if it gave one. */
  id: string | undefined;
}

export interface BatchRules {
  limits: Limits;
  checkTopic: (topic: unknown) => string;
  checkHeaders: (headers: unknown) => Headers;
}

/** Longest caller's message id: it travels as a header value (a CDC event id embeds a row key). */
const MAX_MESSAGE_ID_BYTES = 4096;

/** A caller's message id: what every driver can carry as a header value. */
function checkMessageId(driver: string, id: unknown): string {
  if (typeof id !== 'string' || id.length === 0 || id !== id.trim() || /[\r\n]/.test(id)) {
    throw new DriverError(
      driver,
      'InvalidArgument',
      'id must be a non-empty string without CR, LF or surrounding spaces',
    );
  }
  if (Buffer.byteLength(id, 'utf8') > MAX_MESSAGE_ID_BYTES) {
    throw new DriverError(driver, 'InvalidArgument', `id is longer than ${MAX_MESSAGE_ID_BYTES} bytes`);
  }
  return id;
}

/** Every message checked (at most MAX_BATCH_KEYS of them); the first bad one fails the call. */
export function checkBatchMessages(driver: string, messages: unknown, rules: BatchRules): CheckedBatchMessage[] {
  return checkBatch(driver, 'messages', messages).map((message, index) => {
    const m = (typeof message === 'object' && message !== null ? message : {}) as Record<string, unknown>;
    try {
      if (message === null || typeof message !== 'object') {
        throw new DriverError(driver, 'InvalidArgument', 'must be an object { topic, key?, value, headers?, id? }');
      }
      return {
        topic: rules.checkTopic(m.topic),
        key: m.key === undefined ? undefined : checkKey(driver, m.key, rules.limits),
        value: checkValue(driver, m.value, rules.limits),
        headers: rules.checkHeaders(m.headers),
        id: m.id === undefined ? undefined : checkMessageId(driver, m.id),
      };
    } catch (err) {
      if (!isDriverError(err)) throw err;
      const topic = typeof m.topic === 'string' ? ` (topic ${JSON.stringify(m.topic)})` : '';
      const detail = err.message.startsWith(`${driver}: `) ? err.message.slice(driver.length + 2) : err.message;
      throw new DriverError(driver, err.code, `messages[${index}]${topic}: ${detail}`, { cause: err });
    }
  });
}
