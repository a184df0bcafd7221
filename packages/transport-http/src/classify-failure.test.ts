import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BlockedDestinationError } from '@herald/ssrf';
import { classifyFailure } from './classify-failure.ts';

function coded(code: string, message = `boom 10.0.0.7:443 ${code}`, cause?: unknown): Error {
  const err = new Error(message, cause === undefined ? undefined : { cause }) as Error & { code: string };
  err.code = code;
  return err;
}

describe('classifyFailure', () => {
  const rows: ReadonlyArray<readonly [string, unknown, string, boolean]> = [
    ['blocked destination', new BlockedDestinationError('internal.example'), 'blocked', false],
    ['ENOTFOUND', coded('ENOTFOUND'), 'dns', true],
    ['EAI_AGAIN', coded('EAI_AGAIN'), 'dns', true],
    ['ECONNREFUSED', coded('ECONNREFUSED'), 'refused', true],
    ['ECONNRESET', coded('ECONNRESET'), 'reset', true],
    ['UND_ERR_SOCKET', coded('UND_ERR_SOCKET'), 'reset', true],
    ['EPIPE', coded('EPIPE'), 'reset', true],
    ['UND_ERR_CONNECT_TIMEOUT', coded('UND_ERR_CONNECT_TIMEOUT'), 'timeout', true],
    ['ETIMEDOUT', coded('ETIMEDOUT'), 'timeout', true],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', coded('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'tls', true],
    ['ERR_TLS_CERT_ALTNAME_INVALID', coded('ERR_TLS_CERT_ALTNAME_INVALID'), 'tls', true],
    ['ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', coded('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION'), 'tls', true],
    ['CERT_HAS_EXPIRED', coded('CERT_HAS_EXPIRED'), 'tls', true],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', coded('DEPTH_ZERO_SELF_SIGNED_CERT'), 'tls', true],
    ['code in the cause', coded('UND_ERR', 'outer', coded('ECONNREFUSED')), 'refused', true],
    ['happy-eyeballs aggregate', Object.assign(new AggregateError([coded('ECONNREFUSED')], 'x')), 'refused', true],
    ['UND_ERR_INVALID_ARG', coded('UND_ERR_INVALID_ARG'), 'internal', false],
    ['EHOSTUNREACH', coded('EHOSTUNREACH'), 'network', true],
    ['no code at all', new Error('10.0.0.7 said no'), 'network', true],
    ['not an error', 'string thrown', 'network', true],
  ];
  for (const [what, err, code, retryable] of rows) {
    it(`${what} → ${code}`, () => {
      const c = classifyFailure(err);
      assert.equal(c.code, code);
      assert.equal(c.retryable, retryable);
      assert.doesNotMatch(c.error, /10\.0\.0\.7|internal\.example/);
    });
  }

  it('survives a cyclic cause chain', () => {
    const a = coded('EX_A') as Error & { cause?: unknown };
    const b = coded('ECONNRESET', 'b', a);
    a.cause = b;
    assert.equal(classifyFailure(a).code, 'reset');
  });
});
