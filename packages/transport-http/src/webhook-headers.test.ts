import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TransportConfigError } from './transport-config-error.ts';
import { buildWebhookHeaders } from './webhook-headers.ts';

describe('buildWebhookHeaders', () => {
  it('builds the standard headers, omitting what is not given', () => {
    assert.deepEqual(buildWebhookHeaders({ messageId: 'msg_1' }), { 'webhook-id': 'msg_1' });
    assert.deepEqual(
      buildWebhookHeaders({
        messageId: 'msg_1',
        timestampSeconds: 1_700_000_000,
        correlationId: 'c-1',
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        messageType: 'image.checked',
      }),
      {
        'webhook-id': 'msg_1',
        'webhook-timestamp': '1700000000',
        'x-correlation-id': 'c-1',
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        'x-herald-message-type': 'image.checked',
      },
    );
  });

  it('is stable for the same message (retries carry the same webhook-id)', () => {
    assert.deepEqual(buildWebhookHeaders({ messageId: 'm' }), buildWebhookHeaders({ messageId: 'm' }));
  });

  const bad: ReadonlyArray<readonly [string, Parameters<typeof buildWebhookHeaders>[0]]> = [
    ['empty messageId', { messageId: '' }],
    ['CRLF in messageId', { messageId: 'a\r\nx-evil: 1' }],
    ['CRLF in correlationId', { messageId: 'm', correlationId: 'a\nb' }],
    ['non-ASCII messageType', { messageId: 'm', messageType: 'caf\u00e9' }],
    ['negative timestamp', { messageId: 'm', timestampSeconds: -1 }],
    ['fractional timestamp', { messageId: 'm', timestampSeconds: 1.5 }],
    ['malformed traceparent', { messageId: 'm', traceparent: '00-xyz-00f067aa0ba902b7-01' }],
    [
      'uppercase traceparent',
      { messageId: 'm', traceparent: '00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01' },
    ],
    [
      'version ff traceparent',
      { messageId: 'm', traceparent: 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
    ],
  ];
  for (const [what, input] of bad) {
    it(`throws HERALD_HTTP_INVALID_HEADER for ${what}`, () => {
      assert.throws(
        () => buildWebhookHeaders(input),
        (err: unknown) => err instanceof TransportConfigError && err.code === 'HERALD_HTTP_INVALID_HEADER',
      );
    });
  }
});
