import type { Result, Router } from 'hono/router';
import { TrieRouter } from 'hono/router/trie-router';

const MAX_ENTRIES = 2000;

/**
 * hono's TrieRouter with the result of each (method, path) remembered: the API's routes need the trie (hono's
 * RegExpRouter refuses them), whose match walked every segment of every request (2 % of a publish request).
 * Match results are read-only to hono, so one result serves every request of its path; the cache is bounded
 * (cleared when full: a flood of made-up paths costs a trie walk each, as before).
 */
export class CachedTrieRouter<T> implements Router<T> {
  readonly name = 'CachedTrieRouter';
  readonly #inner = new TrieRouter<T>();
  readonly #results = new Map<string, Result<T>>();

  add(method: string, path: string, handler: T): void {
    this.#results.clear();
    this.#inner.add(method, path, handler);
  }

  match(method: string, path: string): Result<T> {
    const key = `${method} ${path}`;
    let result = this.#results.get(key);
    if (result === undefined) {
      result = this.#inner.match(method, path);
      if (this.#results.size >= MAX_ENTRIES) this.#results.clear();
      this.#results.set(key, result);
    }
    return result;
  }
}
