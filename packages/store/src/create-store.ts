import { StoreConfigError } from './errors.ts';
import type { Keyring } from './keyring.ts';
import { createPostgresStore } from './postgres-store.ts';
import { createSqliteStore } from './sqlite-store.ts';
import type { Store } from './types.ts';

export interface CreateStoreOptions {
  /** `sqlite:<path>`, `sqlite::memory:`, `postgres://...` or `postgresql://...`. */
  url: string;
  keyring: Keyring;
  /** PostgreSQL pool size (default 10). */
  poolSize?: number;
  clock?: () => number;
}

/** Opens the store the URL names and applies pending migrations before resolving. */
export async function createStore(options: CreateStoreOptions): Promise<Store> {
  const { url, keyring } = options;
  const clock = options.clock === undefined ? {} : { clock: options.clock };
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '')
      throw new StoreConfigError('STORE_URL_INVALID', 'sqlite: URL needs a file path (sqlite:./data/herald.db)');
    return createSqliteStore({ path, keyring, ...clock });
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    return createPostgresStore({
      url,
      keyring,
      ...clock,
      ...(options.poolSize === undefined ? {} : { poolSize: options.poolSize }),
    });
  }
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0] ?? '(none)';
  throw new StoreConfigError(
    'STORE_URL_INVALID',
    `store URL must start with sqlite:, postgres:// or postgresql:// (received scheme ${scheme})`,
  );
}
