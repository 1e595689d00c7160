// kafkajs hides the reason it gave up inside wrapper errors; the driver must classify the reason,
// or a broker outage would look like a permanent error and fail workflows instead of waiting.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classify } from '../../src/drivers/kafka/errors';

function kafkaError(name: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(name), { name, ...extra });
}

describe('kafka error classification', () => {
  it('a connection error wrapped as non-retriable is Unavailable (retryable)', () => {
    const wrapped = kafkaError('KafkaJSNonRetriableError', { cause: kafkaError('KafkaJSConnectionError') });
    assert.equal(classify(wrapped), 'Unavailable');
  });

  it('a connection refusal behind "retries exceeded" is Unavailable', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    assert.equal(classify(kafkaError('KafkaJSNumberOfRetriesExceeded', { cause: refused })), 'Unavailable');
  });

  it('a message too large stays permanent, wrapped or not', () => {
    const tooLarge = kafkaError('KafkaJSProtocolError', { type: 'MESSAGE_TOO_LARGE' });
    assert.equal(classify(tooLarge), 'ValueTooLarge');
    assert.equal(classify(kafkaError('KafkaJSNonRetriableError', { cause: tooLarge })), 'ValueTooLarge');
  });
});
