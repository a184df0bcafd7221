import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Hono } from 'hono';
import { CachedTrieRouter } from './cached-router.ts';

describe('CachedTrieRouter', () => {
  it('answers each path with its own handler and parameters, from memory the second time', async () => {
    const app = new Hono({ router: new CachedTrieRouter() });
    app.get('/items/:id', (c) => c.text(`item ${c.req.param('id')}`));
    app.post('/items', (c) => c.text('created'));
    for (let round = 0; round < 2; round++) {
      assert.equal(await (await app.request('/items/a')).text(), 'item a');
      assert.equal(await (await app.request('/items/b')).text(), 'item b');
      assert.equal(await (await app.request('/items', { method: 'POST' })).text(), 'created');
      assert.equal((await app.request('/items', { method: 'DELETE' })).status, 404);
    }
  });

  it('stays correct past its size bound (a flood of distinct paths)', async () => {
    const app = new Hono({ router: new CachedTrieRouter() });
    app.get('/items/:id', (c) => c.text(c.req.param('id')));
    for (let n = 0; n < 5000; n += 1) {
      if (n % 997 === 0 || n > 4990) assert.equal(await (await app.request(`/items/${n}`)).text(), String(n));
      else await app.request(`/items/${n}`);
    }
  });
});
