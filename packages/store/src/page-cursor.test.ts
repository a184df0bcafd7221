import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StoreInputError } from './errors.ts';
import { decodeCursor, encodeCursor, pageLimit } from './page-cursor.ts';

describe('page cursors', () => {
  it('round-trip both key shapes', () => {
    assert.deepEqual(decodeCursor(encodeCursor([42]), 'seq'), [42]);
    assert.deepEqual(decodeCursor(encodeCursor([1_700_000_000_000, 'id-1']), 'time-id'), [1_700_000_000_000, 'id-1']);
  });

  it('refuse garbage and a cursor of the other shape', () => {
    for (const bad of ['', 'xyz', encodeCursor([1, 'a']), Buffer.from('{"a":1}').toString('base64url')]) {
      assert.throws(() => decodeCursor(bad, 'seq'), StoreInputError);
    }
    assert.throws(() => decodeCursor(encodeCursor([5]), 'time-id'), StoreInputError);
  });

  it('clamp the page size to 1..500 with a default of 50', () => {
    assert.equal(pageLimit({}), 50);
    assert.equal(pageLimit({ limit: 0 }), 1);
    assert.equal(pageLimit({ limit: 10_000 }), 500);
    assert.equal(pageLimit({ limit: 7.9 }), 7);
    assert.equal(pageLimit({ limit: Number.NaN }), 50);
  });
});
