import type { ApiKey, Store } from '@herald/store';

const MAX_ENTRIES = 10_000;

/** API key rows read at authentication, reused for a short time so a busy key costs no query per request. */
export interface ApiKeyCache {
  /** The key's row (from memory when read within the last `ttlMs`), or null when there is no such key. */
  find(key: string): Promise<ApiKey | null>;
  /** Drops every remembered row: call after revoking, rotating or re-crediting a key. */
  clear(): void;
}

/**
 * Only rows that exist are remembered (a flood of made-up keys cannot fill the cache) and never past
 * `ttlMs`, so a change made by another API process is seen within that time. Whether a key is revoked is
 * read from the row; its credits are spent in the store (atomically), never from this copy.
 */
export function createApiKeyCache(
  store: Pick<Store, 'findApiKey'>,
  options: { ttlMs: number; now: () => number },
): ApiKeyCache {
  const rows = new Map<string, { row: ApiKey; until: number }>();
  return {
    async find(key) {
      if (options.ttlMs <= 0) return store.findApiKey(key);
      const now = options.now();
      const hit = rows.get(key);
      if (hit !== undefined && hit.until > now) return hit.row;
      const row = await store.findApiKey(key);
      if (row === null) {
        rows.delete(key);
        return null;
      }
      if (rows.size >= MAX_ENTRIES) rows.clear();
      rows.set(key, { row, until: now + options.ttlMs });
      return row;
    },
    clear() {
      rows.clear();
    },
  };
}
