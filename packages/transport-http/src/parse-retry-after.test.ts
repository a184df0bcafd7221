import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRetryAfter } from './parse-retry-after.ts';

const NOW = Date.parse('2023-11-14T22:13:20Z');

describe('parseRetryAfter', () => {
  const rows: ReadonlyArray<readonly [unknown, number | undefined]> = [
    ['0', 0],
    ['7', 7000],
    [' 120 ', 120_000],
    ['86400', 86_400_000],
    ['Tue, 14 Nov 2023 22:13:30 GMT', 10_000],
    ['Tuesday, 14-Nov-23 22:14:20 GMT', 60_000],
    ['Tue Nov 14 22:13:25 2023', 5000],
    ['Tue, 14 Nov 2023 22:00:00 GMT', 0], // in the past
    ['-5', undefined],
    ['1.5', undefined],
    ['soon', undefined],
    ['', undefined],
    ['2023-11-14T22:13:30Z', undefined], // not an HTTP-date
    ['Tue, 14 Nov 2023 22:13:30 UTC', undefined],
    ['9'.repeat(30), undefined],
    [undefined, undefined],
    [null, undefined],
  ];
  for (const [value, expected] of rows) {
    it(`${JSON.stringify(value)} → ${expected}`, () => {
      assert.equal(parseRetryAfter(value as string | undefined, NOW), expected);
    });
  }

  it('takes the first of repeated headers', () => {
    assert.equal(parseRetryAfter(['3', '9'], NOW), 3000);
  });
});
