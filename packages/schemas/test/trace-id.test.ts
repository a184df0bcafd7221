import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTraceparentTraceId, traceIdFromTraceparent } from '@herald/schemas';

const shape = /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/;

function counterBytes(): (n: number) => Uint8Array {
  let next = 1;
  return (n) => Uint8Array.from({ length: n }, () => next++ & 0xff);
}

describe('traceIdFromTraceparent', () => {
  it('keeps the trace id of a valid traceparent with a new span id', () => {
    const header = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const id = traceIdFromTraceparent(header, counterBytes());
    assert.equal(id, '00-0af7651916cd43dd8448eb211c80319c-0102030405060708-00');
  });

  it('makes a new random id when the header is absent or invalid', () => {
    for (const header of [
      undefined,
      null,
      '',
      'garbage',
      '00-00000000000000000000000000000000-b7ad6b7169203331-01',
      '00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01',
      'ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      '00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01',
      '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra',
    ]) {
      const id = traceIdFromTraceparent(header, counterBytes());
      assert.equal(id, '00-0102030405060708090a0b0c0d0e0f10-1112131415161718-00', String(header));
    }
  });

  it('accepts later versions with extra fields', () => {
    assert.equal(
      parseTraceparentTraceId('01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-xyz'),
      '0af7651916cd43dd8448eb211c80319c',
    );
  });

  it('gives documents-shaped ids that differ call to call with the default randomness', () => {
    const a = traceIdFromTraceparent();
    const b = traceIdFromTraceparent();
    assert.match(a, shape);
    assert.match(b, shape);
    assert.notEqual(a, b);
  });

  it('never returns an all-zero id', () => {
    const id = traceIdFromTraceparent(undefined, (n) => new Uint8Array(n));
    assert.match(id, shape);
    assert.doesNotMatch(id, /^00-0{32}-/);
    assert.doesNotMatch(id, /-0{16}-00$/);
  });
});
