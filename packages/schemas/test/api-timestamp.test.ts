import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiTimestamp, formatApiTimestamp } from '@herald/schemas';

describe('API timestamps', () => {
  it('writes six fraction digits like the documents', () => {
    assert.equal(formatApiTimestamp(new Date('2024-12-20T18:24:23.141Z')), '2024-12-20T18:24:23.141000Z');
    assert.equal(formatApiTimestamp(new Date('2024-12-20T18:24:23.141Z'), 247), '2024-12-20T18:24:23.141247Z');
    assert.equal(ApiTimestamp.safeParse(formatApiTimestamp(new Date(0))).success, true);
  });

  it('throws for bad arguments', () => {
    assert.throws(() => formatApiTimestamp(new Date('x')), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => formatApiTimestamp(new Date(0), 1000), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => formatApiTimestamp(new Date(0), 1.5), { code: 'INVALID_ARGUMENT' });
  });

  it('accepts 0 to 7 fraction digits and rejects other forms', () => {
    for (const ok of ['2024-12-20T18:24:23Z', '2024-07-30T20:35:26.4982017Z', '2024-07-17T09:25:58.642536Z']) {
      assert.equal(ApiTimestamp.safeParse(ok).success, true, ok);
    }
    for (const bad of [
      '2024-12-20T18:24:23.12345678Z',
      '2024-12-20T18:24:23+01:00',
      '2024-13-20T18:24:23Z',
      '2024-12-20',
    ]) {
      assert.equal(ApiTimestamp.safeParse(bad).success, false, bad);
    }
  });
});
