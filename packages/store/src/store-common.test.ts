import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { timeOrderedId } from './store-common.ts';

describe('timeOrderedId', () => {
  it('is a UUIDv7 whose text sorts by its millisecond', () => {
    const id = timeOrderedId(Date.UTC(2026, 10, 22));
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(id.slice(0, 13).replace('-', ''), Date.UTC(2026, 10, 22).toString(16).padStart(12, '0'));
    const ids = [3, 1, 2].map((ms) => timeOrderedId(Date.UTC(2026, 0, 1) + ms));
    assert.deepEqual([...ids].sort(), [ids[1], ids[2], ids[0]]);
  });

  it('takes the time of every id from its own argument when calls alternate between milliseconds', () => {
    const a = Date.UTC(2026, 0, 1, 12);
    const b = a + 86_400_000;
    const prefix = (ms: number) => ms.toString(16).padStart(12, '0');
    for (const [ms, id] of [a, b, a, a, b].map((ms) => [ms, timeOrderedId(ms)] as const)) {
      assert.equal(id.slice(0, 13).replace('-', ''), prefix(ms));
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });

  it('does not repeat within one millisecond', () => {
    const now = Date.now();
    const ids = new Set(Array.from({ length: 10_000 }, () => timeOrderedId(now)));
    assert.equal(ids.size, 10_000);
  });
});
